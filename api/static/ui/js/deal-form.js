// Pricing a securitization deal (POST /v1/securitization/price, docs/securitization.md): the deal's
// JSON, edited in place and checked as it is typed against the rules the pricing core states (each
// fault named by its path, `tranches[1].coupon`); the notes' price, yield, expected loss, WAL and the
// scenario table, or the server's problem naming the field it refused.

import { apiKey, call, problemView } from "./api.js";
import { facts, field, fill, h, table } from "./dom.js";

/** A small deal to start from: one year of one provider's 64 H100s behind two notes. */
export const EXAMPLE_DEAL = {
  name: "H100 capacity, 12 months (example)",
  periods: 12,
  index: { model: { type: "gbm", spot: 2.4, vol: 0.5, carry: 0.0 } },
  providers: [{ name: "cloud-a", default_intensity: 0.05, recovery: 0.35 }],
  assets: [{ provider: "cloud-a", product: "H100", region: "us-east", gpus: 64, opex: 0.6, forwards: [{ gpus: 16, price: 2.2, start: 0, end: 12 }] }],
  utilisation: { mean: 0.8, speed: 4, vol: 0.5 },
  tranches: [
    { name: "A", face: 300000, coupon: 0.06, oc_trigger: 1.2 },
    { name: "B", face: 100000, coupon: 0.12 },
  ],
  fees: { fixed: 500 },
  reserve: { initial: 5000, target: 10000 },
  discount: { rate: 0.04 },
  mc: { paths: 1000, seed: 7 },
};

// The per-request bounds of POST /v1/securitization/price (api/controllers/securitization.py).
const MAX_PATHS = 20_000;
const MAX_PATH_PERIODS = 500_000;

const isObject = (x) => x !== null && typeof x === "object" && !Array.isArray(x);
const isNumber = (x) => typeof x === "number" && Number.isFinite(x);
const isWhole = (x) => Number.isInteger(x);

/**
 * What is wrong with the deal text, as [path, reason] pairs: JSON syntax first, then the keys the
 * pricing core requires and its ranges and cross references. The server checks again (and more).
 */
export function dealErrors(text) {
  let deal;
  try {
    deal = JSON.parse(text);
  } catch (error) {
    return [["", `not JSON: ${error.message}`]];
  }
  if (!isObject(deal)) return [["", "a deal is a JSON object"]];
  const errors = [];
  const need = (ok, path, reason) => ok || errors.push([path, reason]);
  for (const key of ["periods", "index", "providers", "assets", "tranches"]) need(key in deal, key, "is required");
  if ("periods" in deal) need(isWhole(deal.periods) && deal.periods >= 1 && deal.periods <= 600, "periods", "a whole number, 1 to 600");
  if ("period_months" in deal) need(isWhole(deal.period_months) && deal.period_months >= 1 && deal.period_months <= 12, "period_months", "a whole number, 1 to 12");
  if ("index" in deal) need(isObject(deal.index) && ("model" in deal.index) !== ("path" in deal.index), "index", 'exactly one of "model" and "path"');
  const names = (list, path) => {
    if (!Array.isArray(list) || !list.length) return need(false, path, "a non-empty list"), new Set();
    const seen = new Set();
    list.forEach((item, i) => {
      if (!isObject(item) || typeof item.name !== "string" || !item.name) return need(false, `${path}[${i}].name`, "is required");
      need(!seen.has(item.name), `${path}[${i}].name`, `${item.name} is named twice`);
      seen.add(item.name);
    });
    return seen;
  };
  const providers = names(deal.providers, "providers");
  (Array.isArray(deal.providers) ? deal.providers : []).forEach((p, i) => {
    if (!isObject(p)) return;
    if ("default_intensity" in p) need(isNumber(p.default_intensity) && p.default_intensity >= 0 && p.default_intensity <= 10, `providers[${i}].default_intensity`, "a number, 0 to 10 per year");
    if ("recovery" in p) need(isNumber(p.recovery) && p.recovery >= 0 && p.recovery <= 1, `providers[${i}].recovery`, "a fraction, 0 to 1");
  });
  if (Array.isArray(deal.assets)) {
    deal.assets.forEach((a, i) => {
      if (!isObject(a)) return need(false, `assets[${i}]`, "an object");
      need(providers.has(a.provider), `assets[${i}].provider`, "names none of the providers");
      need((isWhole(a.gpus) && a.gpus >= 0) || Array.isArray(a.gpus), `assets[${i}].gpus`, "a whole number of GPUs, or one per period");
    });
  } else if ("assets" in deal) need(false, "assets", "a list");
  names(deal.tranches, "tranches");
  (Array.isArray(deal.tranches) ? deal.tranches : []).forEach((t, i) => {
    if (!isObject(t)) return;
    need(isNumber(t.face) && t.face > 0, `tranches[${i}].face`, "a positive amount");
    if ("coupon" in t) need(isNumber(t.coupon) && t.coupon >= 0 && t.coupon <= 1, `tranches[${i}].coupon`, "a rate, 0 to 1");
  });
  if (isObject(deal.reserve) && isNumber(deal.reserve.initial) && isNumber(deal.reserve.target)) need(deal.reserve.initial <= deal.reserve.target, "reserve.initial", "at most the target");
  const paths = isObject(deal.mc) && "paths" in deal.mc ? deal.mc.paths : 10_000;
  need(isWhole(paths) && paths >= 1 && paths <= MAX_PATHS, "mc.paths", `a whole number, at most ${MAX_PATHS.toLocaleString("en")} per request`);
  if (isWhole(paths) && isWhole(deal.periods)) need(paths * deal.periods <= MAX_PATH_PERIODS, "mc.paths", `paths x periods at most ${MAX_PATH_PERIODS.toLocaleString("en")} per request`);
  return errors;
}

const fmt = (x, digits = 4) => (x === null || x === undefined ? "—" : Number(x.toPrecision(digits + 2)).toString());
const pct = (x) => (x === null || x === undefined ? "—" : `${(100 * x).toFixed(2)}%`);

/** The deal form and its result, as nodes to place in a panel. */
export function dealForm() {
  const editor = h("textarea", { name: "deal", spellcheck: "false", rows: 24, "aria-label": "deal (JSON)" });
  editor.value = JSON.stringify(EXAMPLE_DEAL, null, 2);
  const errorsBox = h("div", { id: "deal-errors" });
  const resultBox = h("div", { id: "deal-result" });
  const submit = h("button", { type: "submit", class: "primary" }, "Price the notes");

  function update() {
    const errors = dealErrors(editor.value);
    editor.classList.toggle("invalid", errors.length > 0);
    fill(errorsBox, errors.length ? h("ul", { class: "sell-text" }, errors.map(([path, reason]) => h("li", { dataset: { field: path } }, path ? h("code", {}, path) : null, " ", reason))) : null);
    submit.disabled = Boolean(errors.length) || !apiKey();
  }

  async function price(event) {
    event.preventDefault();
    if (dealErrors(editor.value).length) return;
    submit.disabled = true;
    fill(resultBox, h("p", { class: "loading" }, "Simulating the pool and its waterfall (base, sensitivities, scenarios)…"));
    try {
      const analysis = await call("POST", "/v1/securitization/price", { body: JSON.parse(editor.value), auth: true });
      fill(
        resultBox,
        h("div", { class: "ok", dataset: { paths: String(analysis.paths) } }, `${analysis.deal || "deal"}: ${analysis.paths.toLocaleString("en")} paths x ${analysis.periods} periods in ${Math.round(analysis.elapsed_ms)} ms`),
        facts([
          ["Pool cash (PV)", fmt(analysis.pool_cash, 8)],
          ["Equity (PV)", fmt(analysis.equity, 8)],
          ["Conservation error", fmt(analysis.max_conservation_error, 2)],
        ]),
        h("h3", {}, "Notes"),
        table(
          [
            ["Note", (t) => t.name],
            ["Face", (t) => fmt(t.face, 8), "num"],
            ["Coupon", (t) => pct(t.coupon), "num"],
            ["Price", (t) => `${fmt(t.price)} ± ${fmt(t.price_std_error, 2)}`, "num"],
            ["Yield", (t) => pct(t.yield_at_price), "num"],
            ["Spread", (t) => pct(t.spread_at_price), "num"],
            ["Exp. loss", (t) => pct(t.expected_loss), "num"],
            ["P(loss)", (t) => pct(t.loss_probability), "num"],
            ["WAL (y)", (t) => fmt(t.wal, 3), "num"],
            ["Duration (y)", (t) => fmt(t.duration, 3), "num"],
            ["P(breach)", (t) => pct(t.breach_probability), "num"],
          ],
          analysis.tranches,
          { rowAttrs: (t) => ({ dataset: { note: t.name, price: String(t.price) } }) },
        ),
        h("h3", {}, "Scenarios"),
        table(
          [
            ["Scenario", (r) => r.scenario],
            ["Note", (r) => r.tranche],
            ["Price", (r) => fmt(r.price), "num"],
            ["Exp. loss", (r) => pct(r.expected_loss), "num"],
            ["P(loss)", (r) => pct(r.loss_probability), "num"],
            ["WAL (y)", (r) => fmt(r.wal, 3), "num"],
          ],
          analysis.scenarios,
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
    { class: "stack", id: "deal-form", oninput: update, onsubmit: price },
    field("Deal (JSON, docs/securitization.md)", editor),
    errorsBox,
    h("div", { class: "row" }, submit, h("span", { class: "muted" }, "At most 20,000 paths and 500,000 paths x periods per request; charged to your pricing budget.")),
  );
  update();
  return [form, resultBox];
}
