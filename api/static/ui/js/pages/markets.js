// Markets: per product, the forward curve (mark and last trade by window), the index with candles,
// the open instruments with their tickers, and the option chain. Tickers stay live on the stream.

import { get, getAll, mapLimited } from "../api.js";
import { candleChart, candlesOf, forwardCurve } from "../charts.js";
import { fill, h, panel, table } from "../dom.js";
import { num, price } from "../money.js";
import { stream } from "../stream.js";
import { daysAgo, when, windowLabel } from "../time.js";

const INDEX_INTERVALS = [["1h", 3600], ["4h", 14400], ["1d", 86400]];
const MAX_LIVE = 45; // the stream allows 50 subscriptions a connection; the instrument view needs a few

const link = (symbol) => h("a", { href: `#/instrument/${encodeURIComponent(symbol)}` }, symbol);

export async function render(root, [productId]) {
  const products = await getAll("/v1/products");
  if (!products.length) {
    fill(root, panel("Markets", h("p", { class: "muted" }, "No products are listed yet.")));
    return null;
  }
  const product = products.find((p) => p.id === productId) || products.find((p) => p.id === "H100") || products[0];
  const instruments = await getAll("/v1/instruments", { product: product.id, status: "open" });
  const tickers = new Map();
  await mapLimited(instruments, 6, async (i) => tickers.set(i.symbol, await get(`/v1/instruments/${encodeURIComponent(i.symbol)}/ticker`)));
  const fixings = await getAll(`/v1/index/${encodeURIComponent(product.id)}`, { start: daysAgo(30) });

  const forwards = instruments.filter((i) => i.kind === "forward").sort((a, b) => a.window_start.localeCompare(b.window_start) || b.hours - a.hours);
  const options = instruments.filter((i) => i.kind !== "forward");

  const curveBox = h("div", { class: "chart", id: "forward-curve" });
  const indexBox = h("div", { class: "chart", id: "index-chart" });
  const instrumentsBox = h("div", { id: "instruments" });
  const chainBox = h("div", { id: "option-chain" });
  let interval = 14400;
  const intervalTabs = h("div", { class: "tabs" });

  const last = fixings[fixings.length - 1];
  fill(
    root,
    h(
      "nav",
      { class: "tabs", "aria-label": "products" },
      products.map((p) => h("a", { href: `#/markets/${encodeURIComponent(p.id)}`, class: p.id === product.id ? "active" : null }, p.id)),
    ),
    h("h1", {}, product.id, h("small", {}, product.description || ""), product.region ? h("span", { class: "badge" }, product.region) : null),
    h(
      "div",
      { class: "grid" },
      h("div", { class: "span-6" }, panel("Forward curve", h("p", { class: "muted" }, "Mark by delivery window start (lines) and last trade (dots), USD per GPU-hour."), curveBox)),
      h(
        "div",
        { class: "span-6" },
        panel(
          "Index",
          h("p", { class: "muted" }, last ? `Last fixing ${price(last.price)} at ${when(last.at)} · ${fixings.length} fixings in 30 days` : "No fixings yet."),
          intervalTabs,
          indexBox,
        ),
      ),
      h("div", { class: "span-12" }, panel("Open instruments", instrumentsBox)),
      h("div", { class: "span-12" }, panel("Option chain", chainBox)),
    ),
  );

  const curve = forwardCurve(curveBox);
  const index = candleChart(indexBox, { decimals: 3 });
  const drawIndex = () => {
    fill(
      intervalTabs,
      INDEX_INTERVALS.map(([label, seconds]) =>
        h("button", { type: "button", class: seconds === interval ? "active" : null, onclick: () => ((interval = seconds), drawIndex()) }, label),
      ),
    );
    index.update(candlesOf(fixings, interval));
  };

  const draw = () => {
    curve.update(
      forwards.map((f) => {
        const t = tickers.get(f.symbol) || {};
        return { kind: f.window_kind, start: f.window_start, mark: num(t.mark), last: num(t.last) };
      }),
    );
    fill(instrumentsBox, instrumentsTable(forwards.concat(options), tickers));
    fill(chainBox, optionChain(options, tickers));
  };
  drawIndex();
  draw();

  let pending = null;
  const stops = instruments.slice(0, MAX_LIVE).map((i) =>
    stream.subscribe(`ticker.${i.symbol}`, (message) => {
      if (message.type !== "ticker") return;
      tickers.set(i.symbol, message.ticker);
      pending ??= setTimeout(() => ((pending = null), draw()), 250);
    }),
  );
  return () => {
    for (const stop of stops) stop();
    clearTimeout(pending);
    curve.dispose();
    index.dispose();
  };
}

function instrumentsTable(instruments, tickers) {
  const t = (i) => tickers.get(i.symbol) || {};
  return table(
    [
      ["Symbol", (i) => link(i.symbol)],
      ["Kind", (i) => (i.kind === "forward" ? `${i.settlement} forward` : `${i.kind} ${i.option_kind}`)],
      ["Window", (i) => windowLabel(i)],
      ["Bid", (i) => price(t(i).best_bid, i.tick), "num"],
      ["Ask", (i) => price(t(i).best_ask, i.tick), "num"],
      ["Last", (i) => price(t(i).last, i.tick), "num"],
      ["Mark", (i) => t(i).mark ?? "—", "num"],
      ["24 h volume", (i) => t(i).volume_24h ?? 0, "num"],
    ],
    instruments,
    { empty: "No open instruments.", rowAttrs: (i) => ({ dataset: { symbol: i.symbol } }) },
  );
}

function optionChain(options, tickers) {
  if (!options.length) return h("p", { class: "muted" }, "No options are listed on this product.");
  const groups = new Map();
  for (const o of options) {
    const key = `${o.underlying} ${o.kind}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(o);
  }
  const sides = (o, tick) => {
    const t = o ? tickers.get(o.symbol) || {} : {};
    return [price(t.best_bid, tick), price(t.best_ask, tick), t.mark ?? "—"];
  };
  return [...groups].map(([key, group]) => {
    const [underlying, kind] = key.split(" ");
    const forward = tickers.get(underlying) || {};
    const strikes = [...new Set(group.map((o) => o.strike))].sort((a, b) => +a - +b);
    const rows = strikes.map((strike) => {
      const call = group.find((o) => o.strike === strike && o.option_kind === "call");
      const put = group.find((o) => o.strike === strike && o.option_kind === "put");
      return { strike, call, put };
    });
    const cell = (o, value) => (o ? h("a", { href: `#/instrument/${encodeURIComponent(o.symbol)}` }, value) : "—");
    const expiry = group[0].expiry;
    return h(
      "div",
      { class: "chain" },
      h("h3", {}, `${kind === "asian" ? "Asian (average-price) options" : "European options"} on `, link(underlying), ` · expiry ${when(expiry)} · forward mark ${forward.mark ?? "—"}`),
      table(
        [
          ["Call bid", (r) => cell(r.call, sides(r.call, group[0].tick)[0]), "num"],
          ["Call ask", (r) => cell(r.call, sides(r.call, group[0].tick)[1]), "num"],
          ["Call mark", (r) => cell(r.call, sides(r.call, group[0].tick)[2]), "num"],
          ["Strike", (r) => price(r.strike, group[0].tick), "strike"],
          ["Put bid", (r) => cell(r.put, sides(r.put, group[0].tick)[0]), "num"],
          ["Put ask", (r) => cell(r.put, sides(r.put, group[0].tick)[1]), "num"],
          ["Put mark", (r) => cell(r.put, sides(r.put, group[0].tick)[2]), "num"],
        ],
        rows,
      ),
    );
  });
}
