// The buyer's desk: quote any window of GPU-hours (GET /v1/quote: fair value, bid/ask and the listed
// forwards that replicate it), hedge it with those forwards (POST /v1/hedges), and follow, re-plan or
// cancel the hedges (GET /v1/hedges).

import { apiKey, call, get, getAll, problemView } from "../api.js";
import { facts, field, fill, h, panel, select, table } from "../dom.js";
import { price, usd } from "../money.js";
import { stream } from "../stream.js";
import { now, when } from "../time.js";

const HOUR = 3_600_000;
const local = (ms) => new Date(ms).toISOString().slice(0, 16);
const link = (symbol) => h("a", { href: `#/instrument/${encodeURIComponent(symbol)}` }, symbol);

export async function render(root) {
  const products = await getAll("/v1/products");
  const next = Math.ceil(now() / HOUR) * HOUR + 24 * HOUR;
  const product = select("product", products.map((p) => p.id), products.some((p) => p.id === "H100") ? "H100" : products[0]?.id);
  const start = h("input", { name: "start", type: "datetime-local", step: 3600, value: local(next) });
  const end = h("input", { name: "end", type: "datetime-local", step: 3600, value: local(next + 48 * HOUR) });
  const gpus = h("input", { name: "gpus", type: "number", min: 1, step: 1, value: 64 });
  const quoteBox = h("div", { id: "strip-quote" }, h("p", { class: "muted" }, "Quote a window to see its fair value and the forwards that cover it."));
  const hedgesBox = h("div", { id: "hedges" });
  let quote = null;

  async function getQuote(event) {
    event?.preventDefault();
    fill(quoteBox, h("p", { class: "loading" }, "Quoting…"));
    try {
      quote = await get("/v1/quote", { product: product.value, start: `${start.value}:00Z`, end: `${end.value}:00Z`, gpus: gpus.value });
      drawQuote();
    } catch (error) {
      quote = null;
      fill(quoteBox, problemView(error));
    }
  }

  function drawQuote() {
    const slippage = h("input", { name: "max_slippage_bps", type: "number", min: 0, max: 2000, step: 1, value: 100, style: "width:7em" });
    const means = select("means", [["refuse", "refuse if cash is short"], ["scale", "scale down to my cash"]], "refuse");
    const message = h("div");
    const legs = quote.replication.filter((leg) => leg.gpus > 0);
    const hedge = async () => {
      fill(message);
      try {
        const made = await call("POST", "/v1/hedges", {
          body: { positions: legs.map((leg) => ({ symbol: leg.symbol, gpus: leg.gpus })), max_slippage_bps: Number(slippage.value), means: means.value },
          auth: true,
          idempotent: true,
        });
        fill(message, h("div", { class: "ok", dataset: { hedge: made.id } }, `Hedge ${made.id} ${made.status}: ${made.filled_gpu_hours} of ${made.target_gpu_hours} GPU-hours filled, USD ${usd(made.cost)} so far.`));
        await loadHedges();
      } catch (error) {
        fill(message, problemView(error));
      }
    };
    fill(
      quoteBox,
      facts([
        ["window", `${when(quote.start)} → ${when(quote.end)} (${quote.hours} h × ${quote.gpus} GPUs)`],
        ["fair value", `${quote.fair_value} per GPU-hour`],
        ["bid / ask", `${quote.bid} / ${quote.ask}`],
        ["uncovered", `${quote.uncovered_gpu_hours} GPU-hours no listed forward covers`],
        ["basis std", `USD ${usd(quote.basis_std)}`],
        ["model", quote.model.type ?? JSON.stringify(quote.model)],
        ["as of", when(quote.as_of)],
      ]),
      h("h3", {}, "Replicating forwards"),
      table(
        [
          ["Forward", (l) => link(l.symbol)],
          ["GPUs", (l) => l.gpus, "num"],
          ["Hours in window", (l) => l.hours_in_window, "num"],
          ["Fair", (l) => price(l.fair_value), "num"],
          ["Bid", (l) => `${price(l.bid)}${l.bid_from_book ? "" : " (model)"}`, "num"],
          ["Ask", (l) => `${price(l.ask)}${l.ask_from_book ? "" : " (model)"}`, "num"],
        ],
        quote.replication,
        { empty: "No listed forward overlaps this window." },
      ),
      apiKey() && legs.length
        ? h("div", { class: "row", style: "margin-top:10px" }, field("Max slippage over the mark (bps)", slippage), field("When cash is short", means), h("button", { type: "button", class: "buy", id: "hedge-button", onclick: hedge }, "Hedge with these forwards"))
        : h("p", { class: "muted" }, apiKey() ? "" : "Sign in to hedge this window."),
      message,
    );
  }

  async function loadHedges() {
    if (!apiKey()) {
      fill(hedgesBox, h("p", { class: "muted" }, "Sign in to see your hedges."));
      return;
    }
    const hedges = await getAll("/v1/hedges", {}, { auth: true, max: 200 });
    const message = h("div");
    const act = async (work) => {
      fill(message);
      try {
        await work();
        await loadHedges();
      } catch (error) {
        fill(message, problemView(error));
      }
    };
    fill(
      hedgesBox,
      message,
      table(
        [
          ["#", (x) => x.id, "num"],
          ["Status", (x) => h("span", { class: `badge ${x.status === "filled" ? "open" : x.status === "cancelled" ? "" : "warn"}` }, x.status)],
          ["Legs", (x) => x.legs.map((l) => `${l.symbol} ${l.filled_quantity}/${l.target_quantity}`).join(", ")],
          ["GPU-hours filled / target", (x) => `${x.filled_gpu_hours} / ${x.target_gpu_hours}`, "num"],
          ["Cost", (x) => usd(x.cost), "num"],
          ["Held", (x) => usd(x.reserved), "num"],
          ["Rounds", (x) => x.rounds, "num"],
          ["Created", (x) => when(x.created_at)],
          [
            "",
            (x) =>
              x.status === "cancelled" || x.status === "filled"
                ? ""
                : [
                    h("button", { type: "button", class: "small", onclick: () => act(() => call("POST", `/v1/hedges/${x.id}/replan`, { body: {}, auth: true, idempotent: true })) }, "Re-plan"),
                    " ",
                    h("button", { type: "button", class: "small", dataset: { cancelHedge: x.id }, onclick: () => act(() => call("DELETE", `/v1/hedges/${x.id}`, { auth: true })) }, "Cancel"),
                  ],
          ],
        ],
        hedges,
        { empty: "No hedges yet.", rowAttrs: (x) => ({ dataset: { hedgeId: x.id } }) },
      ),
    );
  }

  fill(
    root,
    h("h1", {}, "Desk", h("small", {}, "quote and hedge any window of GPU-hours (docs/hedging.md)")),
    h(
      "div",
      { class: "grid" },
      h(
        "div",
        { class: "span-4" },
        panel(
          "Window",
          h("form", { class: "stack", id: "quote-form", onsubmit: getQuote }, field("Product", product), field("From (UTC, whole hour)", start), field("Until (UTC)", end), field("GPUs in every hour", gpus), h("button", { type: "submit", class: "primary" }, "Quote")),
        ),
      ),
      h("div", { class: "span-8" }, panel("Strip quote", quoteBox)),
      h("div", { class: "span-12" }, panel("Your hedges", hedgesBox)),
    ),
  );
  await Promise.all([getQuote(), loadHedges()]);
  let timer = null;
  const stop = apiKey()
    ? stream.subscribe("orders", () => {
        timer ??= setTimeout(() => ((timer = null), loadHedges().catch(() => {})), 500);
      })
    : () => {};
  return () => {
    stop();
    clearTimeout(timer);
  };
}
