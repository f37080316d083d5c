// Quant: a form that builds a POST /v1/price request (checked as it is typed, shown as JSON and as the
// equivalent curl and CLI commands) and shows the result with its error bars; a stress-lab run
// (POST /v1/stress) with its metrics; and the backtest and stress reports the CLI wrote.

import { apiKey, call, get, problemView } from "../api.js";
import { facts, field, fill, h, panel, select, table } from "../dom.js";
import { GENERAL, INSTRUMENTS, MODELS, buildRequest } from "../pricing-form.js";
import { stressForm } from "../stress-form.js";
import { when } from "../time.js";

const fmt = (x) => (x === null || x === undefined ? "—" : typeof x === "number" ? Number(x.toPrecision(6)).toString() : String(x));

function control(prefix, [key, label, initial, check]) {
  const name = `${prefix}.${key}`;
  if (Array.isArray(check)) return field(label, select(name, check, initial));
  if (check === "bool") return h("label", { class: "check" }, h("input", { type: "checkbox", name, checked: initial }), label);
  return field(label, h("input", { name, value: String(initial), inputmode: check === null ? "text" : "decimal", autocomplete: "off" }));
}

export async function render(root) {
  const modelType = select("model_type", Object.keys(MODELS), "gbm");
  const instrumentType = select("instrument_type", Object.keys(INSTRUMENTS), "european");
  const modelBox = h("div", { class: "row" });
  const instrumentBox = h("div", { class: "row" });
  const generalBox = h("div", { class: "row" }, GENERAL.map((spec) => control("request", spec)));
  const errorsBox = h("div", { id: "price-errors" });
  const preview = h("pre", { class: "json", id: "price-request" });
  const commands = h("pre", { class: "json", id: "price-commands" });
  const resultBox = h("div", { id: "price-result" }, h("p", { class: "muted" }, apiKey() ? "Fill in the form and price." : "Sign in to price (any key with the read scope)."));
  const submit = h("button", { type: "submit", class: "primary" }, "Price");
  let current = null;

  const values = () => {
    const out = {};
    for (const input of form.querySelectorAll("input, select")) {
      if (!input.name.includes(".")) continue;
      out[input.name] = input.type === "checkbox" ? input.checked : input.value;
    }
    return out;
  };

  function update() {
    const { request, errors } = buildRequest(modelType.value, instrumentType.value, values());
    current = errors.length ? null : request;
    for (const input of form.querySelectorAll("input")) input.classList.toggle("invalid", errors.some(([path]) => path === input.name || path.startsWith(`${input.name}[`)));
    fill(errorsBox, errors.length ? h("ul", { class: "sell-text" }, errors.map(([path, reason]) => h("li", { dataset: { field: path } }, h("code", {}, path), " ", reason))) : null);
    submit.disabled = Boolean(errors.length) || !apiKey();
    const text = JSON.stringify(request, null, 2);
    fill(preview, text);
    fill(commands, `curl -s -X POST ${location.origin}/v1/price -H "Authorization: Bearer $KEY" \\\n  -H 'Content-Type: application/json' -d '${JSON.stringify(request)}'\n\n# the same with the library, no server:\nflopex price --pretty - <<'EOF'\n${JSON.stringify(request)}\nEOF`);
  }

  const renderModel = () => fill(modelBox, MODELS[modelType.value].map((spec) => control("model", spec)));
  const renderInstrument = () => fill(instrumentBox, INSTRUMENTS[instrumentType.value].map((spec) => control("instrument", spec)));

  const form = h(
    "form",
    {
      class: "stack",
      id: "price-form",
      oninput: update,
      onchange: (event) => {
        if (event.target === modelType) renderModel();
        if (event.target === instrumentType) renderInstrument();
        update();
      },
      onsubmit: async (event) => {
        event.preventDefault();
        if (!current) return;
        submit.disabled = true;
        fill(resultBox, h("p", { class: "loading" }, "Pricing…"));
        try {
          const result = await call("POST", "/v1/price", { body: current, auth: true, idempotent: true });
          const se = result.greeks_std_error || {};
          fill(
            resultBox,
            h(
              "div",
              { class: "ok", dataset: { value: String(result.value) } },
              h("strong", {}, `value ${fmt(result.value)}`),
              result.std_error !== null ? ` ± ${fmt(result.std_error)} (1 s.e.)` : "",
            ),
            facts([
              ["value", String(result.value)],
              ["std error", fmt(result.std_error)],
              ["95% interval", result.interval ? result.interval.map(fmt).join(" .. ") : "—"],
              ["method", result.method],
              ["paths", fmt(result.paths)],
              ["forward", fmt(result.forward)],
              ...Object.entries(result.greeks || {}).map(([k, v]) => [k, `${fmt(v)}${k in se ? ` ± ${fmt(se[k])}` : ""}`]),
              ["elapsed", `${fmt(result.elapsed_ms)} ms`],
            ]),
          );
        } catch (error) {
          fill(resultBox, problemView(error));
        } finally {
          submit.disabled = !current || !apiKey();
        }
      },
    },
    h("div", { class: "row" }, field("Model", modelType), field("Instrument", instrumentType)),
    h("h3", {}, "Model"),
    modelBox,
    h("h3", {}, "Instrument (times in years from now)"),
    instrumentBox,
    h("h3", {}, "Method"),
    generalBox,
    errorsBox,
    submit,
  );
  renderModel();
  renderInstrument();
  const reportsBox = h("div", { id: "reports" });
  fill(
    root,
    h("h1", {}, "Quant", h("small", {}, "the pricing core over HTTP (docs/pricing.md)")),
    h(
      "div",
      { class: "grid" },
      h("div", { class: "span-7" }, panel("Pricing request", form)),
      h("div", { class: "span-5" }, panel("Result", resultBox), panel("Request", preview), panel("As a command", commands)),
      h("div", { class: "span-12" }, panel("Stress lab run", h("div", { class: "grid" }, stressForm().map((part) => h("div", { class: "span-6" }, part))))),
      h("div", { class: "span-12" }, panel("Backtest and stress reports", reportsBox)),
    ),
  );
  update();
  await showReports(reportsBox);
  return null;
}

/** The reports the CLI wrote into the server's reports directory, one shown in a sandboxed frame. */
async function showReports(box) {
  const reports = await get("/v1/reports");
  if (!reports.configured) {
    fill(box, h("p", { class: "muted" }, "This server publishes no reports: start it with flopex serve --reports DIR, where DIR holds the --out directories of flopex backtest and flopex stress."));
    return;
  }
  const viewer = h("div", { id: "report-viewer" });
  const file = (r, name) => `/v1/reports/${encodeURIComponent(r.name)}/${encodeURIComponent(name)}`;
  const show = (r) =>
    fill(
      viewer,
      h("h3", {}, `${r.kind}: ${r.name}`),
      h("iframe", { src: file(r, "report.html"), sandbox: "", title: `report ${r.name}`, class: "report-frame" }),
    );
  fill(
    box,
    table(
      [
        ["Report", (r) => h("button", { type: "button", class: "link", dataset: { report: r.name }, onclick: () => show(r) }, r.name)],
        ["Kind", (r) => r.kind],
        ["Written", (r) => when(r.modified)],
        ["Files", (r) => r.files.map((f, i) => [i ? " · " : "", h("a", { href: file(r, f), target: "_blank", rel: "noopener" }, f)])],
      ],
      reports.items,
      { empty: "No reports in the directory yet (each needs a report.html and a metrics.json).", rowAttrs: (r) => ({ dataset: { name: r.name } }) },
    ),
    viewer,
  );
  if (reports.items.length) show(reports.items[0]);
}
