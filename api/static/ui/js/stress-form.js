// The stress lab over HTTP (POST /v1/stress, docs/stress.md): a shipped scenario, changes to it and a
// seed, checked as they are typed; the run's metrics against its control, or the server's problem
// (an invalid change, a run over the size ceiling, a spent compute budget).

import { apiKey, call, problemView } from "./api.js";
import { field, fill, h, select, table } from "./dom.js";

/** The scenarios `flopex stress` ships (market/lab/scenario.py: SCENARIOS); the server checks the name. */
const SCENARIOS = ["generation-shock", "scarcity-spike", "index-outage", "basket-run"];
const MAX_SEED = 2 ** 31 - 1;
const whole = (text) => (/^\d+$/.test(text.trim()) ? Number(text) : null);

/**
 * The request the form describes and what is wrong with it, as [field, reason] pairs named by the
 * request's path (`changes.hours`), the way the server names them.
 */
export function stressRequest({ scenario, seed, hours, leverage, extra }) {
  const errors = [];
  const changes = {};
  let more = {};
  if (extra.trim()) {
    try {
      const parsed = JSON.parse(extra);
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) more = parsed;
      else errors.push(["changes", "must be a JSON object"]);
    } catch (error) {
      errors.push(["changes", `not JSON: ${error.message}`]);
    }
  }
  const seedValue = whole(seed);
  if (seedValue === null || seedValue > MAX_SEED) errors.push(["seed", `a whole number in [0, ${MAX_SEED}]`]);
  if (hours.trim()) {
    const value = whole(hours);
    if (value === null || value < 2 || value > 336) errors.push(["changes.hours", "whole hours, 2 to 336 (two weeks), after the shock"]);
    else changes.hours = value;
  }
  if (leverage.trim()) {
    const value = Number(leverage);
    if (!Number.isFinite(value) || value < 0) errors.push(["changes.population.leverage", "a number, at least 0"]);
    else changes.population = { leverage: value };
  }
  const merged = { ...more, ...changes };
  if (more.population && changes.population) merged.population = { ...more.population, ...changes.population };
  return { request: { scenario, changes: merged, seed: seedValue ?? 0 }, errors };
}

const fmt = (x) => (x === null || x === undefined ? "—" : Number(x.toPrecision(6)).toString());

/** The stress-run form and its result, as a node to place in a panel. */
export function stressForm() {
  const scenario = select("scenario", SCENARIOS, SCENARIOS[0]);
  const seed = h("input", { name: "seed", value: "0", inputmode: "numeric", autocomplete: "off" });
  const hours = h("input", { name: "changes.hours", value: "24", inputmode: "numeric", autocomplete: "off" });
  const leverage = h("input", { name: "changes.population.leverage", value: "", placeholder: "the scenario's", inputmode: "decimal", autocomplete: "off" });
  const extra = h("textarea", { name: "changes", rows: 3, style: "min-height:4em", placeholder: '{"population": {"market_makers": 3}}' });
  const errorsBox = h("div", { id: "stress-errors" });
  const resultBox = h("div", { id: "stress-result" });
  const submit = h("button", { type: "submit", class: "primary" }, "Run");
  let current = null;

  function update() {
    const { request, errors } = stressRequest({ scenario: scenario.value, seed: seed.value, hours: hours.value, leverage: leverage.value, extra: extra.value });
    current = errors.length ? null : request;
    for (const input of [seed, hours, leverage, extra]) input.classList.toggle("invalid", errors.some(([path]) => path === input.name));
    fill(errorsBox, errors.length ? h("ul", { class: "sell-text" }, errors.map(([path, reason]) => h("li", { dataset: { field: path } }, h("code", {}, path), " ", reason))) : null);
    submit.disabled = Boolean(errors.length) || !apiKey();
  }

  async function run(event) {
    event.preventDefault();
    if (!current) return;
    submit.disabled = true;
    fill(resultBox, h("p", { class: "loading" }, "Running the scenario and its control…"));
    try {
      const result = await call("POST", "/v1/stress", { body: current, auth: true });
      fill(
        resultBox,
        h("div", { class: "ok", dataset: { scenario: result.scenario } }, `${result.scenario}, seed ${result.seed}: ${result.agents} agents over ${result.steps} steps, ${Math.round(result.elapsed_ms)} ms`),
        table(
          [
            ["Metric", ([name]) => name],
            ["Value", ([, value]) => fmt(value), "num"],
          ],
          Object.entries(result.metrics),
          { rowAttrs: ([name, value]) => ({ dataset: { metric: name, value: String(value) } }) },
        ),
      );
    } catch (error) {
      fill(resultBox, problemView(error));
    } finally {
      update();
    }
  }

  const form = h(
    "form",
    { class: "stack", id: "stress-form", oninput: update, onchange: update, onsubmit: run },
    h("div", { class: "row" }, field("Scenario", scenario), field("Seed", seed), field("Hours", hours), field("Leverage", leverage, "population.leverage")),
    field("More changes (JSON, merged into the scenario)", extra),
    errorsBox,
    h("div", { class: "row" }, submit, h("span", { class: "muted" }, "Runs are bounded (60,000 agent-steps); longer ones and sweeps belong to flopex stress.")),
  );
  update();
  return [form, resultBox];
}
