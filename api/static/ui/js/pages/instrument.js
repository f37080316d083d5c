// One instrument: the live book (ladder and depth chart from book.<symbol>), trades (trades.<symbol>),
// candles, the ticker, the exchange's quote with its Greeks and model, the order ticket and, signed in,
// your live orders on it (kept current by the private orders channel) with cancel.

import { apiKey, call, get, getAll, problemView } from "../api.js";
import { LiveBook } from "../book.js";
import { candleChart, depthChart } from "../charts.js";
import { facts, fill, h, panel, table } from "../dom.js";
import { price, usd } from "../money.js";
import { stream } from "../stream.js";
import { orderTicket } from "../ticket.js";
import { when, windowLabel } from "../time.js";

const CANDLE_INTERVALS = ["1m", "5m", "15m", "1h", "4h", "1d"];
const LADDER_DEPTH = 12;

export async function render(root, [symbol]) {
  const path = `/v1/instruments/${encodeURIComponent(symbol)}`;
  const instrument = await get(path);
  const signedIn = Boolean(apiKey());
  const [ticker, bookNow, lastTrades, me] = await Promise.all([
    get(`${path}/ticker`),
    get(`${path}/book`, { depth: 50 }),
    get(`${path}/trades`, { order: "desc", limit: 50 }),
    signedIn ? get("/v1/me", {}, true) : null,
  ]);
  const tick = instrument.tick;
  const book = new LiveBook();
  book.apply(bookNow);
  let trades = lastTrades.items;
  let currentTicker = ticker;
  let interval = "1h";
  let balances = me ? me.balances : null; // kept current by the private balances channel

  const tickerBox = h("div", { class: "cards", id: "ticker" });
  const ladderBox = h("div", { id: "ladder" });
  const depthBox = h("div", { class: "chart small", id: "depth-chart" });
  const candleBox = h("div", { class: "chart", id: "candles" });
  const intervalTabs = h("div", { class: "tabs" });
  const tradesBox = h("div", { id: "trades" });
  const quoteBox = h("div", { id: "quote" });
  const ordersBox = h("div", { id: "my-orders" });
  const ticket = signedIn
    ? orderTicket(instrument, { book: () => book, available: () => balances.available, onPlaced: () => loadOrders() })
    : null;

  fill(
    root,
    h(
      "h1",
      {},
      instrument.symbol,
      h("span", { class: `badge ${instrument.status === "open" ? "open" : "warn"}` }, instrument.status),
      h("small", {}, `${instrument.kind === "forward" ? `${instrument.settlement} forward` : `${instrument.kind} ${instrument.option_kind} ${instrument.strike} on `}`),
      instrument.underlying ? h("a", { href: `#/instrument/${encodeURIComponent(instrument.underlying)}` }, instrument.underlying) : null,
      h("small", {}, windowLabel(instrument)),
      h("small", {}, h("a", { href: `#/markets/${encodeURIComponent(instrument.product)}` }, `← ${instrument.product} market`)),
    ),
    tickerBox,
    h(
      "div",
      { class: "grid", style: "margin-top:14px" },
      h("div", { class: "span-4" }, panel("Order book", ladderBox, h("h3", {}, "Depth"), depthBox)),
      h("div", { class: "span-5" }, panel("Candles", intervalTabs, candleBox), panel("Trades", tradesBox)),
      h(
        "div",
        { class: "span-3" },
        panel("Order ticket", ticket ? ticket.element : h("p", { class: "muted" }, "Sign in with an API key (top right) to trade.")),
        panel("Quote", quoteBox),
      ),
      signedIn ? h("div", { class: "span-12" }, panel("Your live orders here", ordersBox)) : null,
    ),
  );

  const decimals = (tick.split(".")[1] || "").length;
  const depth = depthChart(depthBox, { decimals });
  const candles = candleChart(candleBox, { decimals });

  function drawTicker() {
    const t = currentTicker;
    fill(
      tickerBox,
      [["Best bid", price(t.best_bid, tick)], ["Best ask", price(t.best_ask, tick)], ["Last", price(t.last, tick)], ["Mark", t.mark ?? "—"], ["24 h volume", t.volume_24h ?? 0], ["Expiry", when(instrument.expiry)], ["Margin per lot", instrument.margin_per_lot], ["Lot", `${instrument.lot_gpus} GPU × ${instrument.hours} h`]].map(([k, v]) =>
        h("div", { class: "card" }, h("span", {}, k), h("b", {}, v)),
      ),
    );
  }

  function drawBook() {
    const asks = book.askLevels().slice(0, LADDER_DEPTH);
    const bids = book.bidLevels().slice(0, LADDER_DEPTH);
    const largest = Math.max(1, ...asks.map((l) => l[1]), ...bids.map((l) => l[1]));
    const row = (cls, [p, q]) =>
      h(
        "tr",
        { class: cls, dataset: { price: p }, onclick: () => ticket && ticket.setPrice(price(p, tick)), title: ticket ? "use this price in the ticket" : null },
        h("td", { class: "num px" }, price(p, tick)),
        h("td", { class: "num" }, q),
        h("td", { class: "bar" }, h("span", { style: `width:${Math.round((100 * q) / largest)}%` })),
      );
    const spread = asks.length && bids.length ? (+asks[0][0] - +bids[0][0]).toFixed((tick.split(".")[1] || "").length) : "—";
    fill(
      ladderBox,
      h(
        "table",
        { class: "ladder" },
        h("thead", {}, h("tr", {}, h("th", { class: "num" }, "Price"), h("th", { class: "num" }, "Lots"), h("th", {}, ""))),
        h(
          "tbody",
          {},
          [...asks].reverse().map((l) => row("ask", l)),
          h("tr", { class: "spread" }, h("td", { colspan: 3 }, `spread ${spread} · seq ${book.sequence ?? "—"}`)),
          bids.map((l) => row("bid", l)),
        ),
      ),
    );
    depth.update(book.bidLevels(), book.askLevels());
  }

  function drawTrades() {
    fill(
      tradesBox,
      table(
        [
          ["Time", (t) => when(t.created_at)],
          ["Price", (t) => price(t.price, tick), "num"],
          ["Lots", (t) => t.quantity, "num"],
          ["Taker", (t) => t.taker_side, "side"],
        ],
        trades.slice(0, 20),
        { empty: "No trades yet.", rowAttrs: (t) => ({ class: t.taker_side }) },
      ),
    );
  }

  // Candles: the last intervals from REST, then the stream's candles.<interval>.<symbol> replaces
  // each interval that new trades touch.
  const candleRows = new Map();
  let stopCandles = () => {};
  let candleLoads = 0; // a newer interval choice wins over a load still in flight
  const drawCandles = () => {
    const rows = [...candleRows.values()].sort((a, b) => a.start.localeCompare(b.start));
    candles.update(rows);
    candleBox.dataset.lastClose = rows.length ? rows[rows.length - 1].close : ""; // what the chart ends on
  };
  async function loadCandles() {
    fill(
      intervalTabs,
      CANDLE_INTERVALS.map((i) => h("button", { type: "button", class: i === interval ? "active" : null, onclick: () => ((interval = i), loadCandles()) }, i)),
    );
    stopCandles();
    const mine = ++candleLoads;
    try {
      const rows = await getAll(`${path}/candles`, { interval });
      if (mine !== candleLoads) return;
      candleRows.clear();
      for (const row of rows) candleRows.set(row.start, row);
      drawCandles();
    } catch (error) {
      fill(intervalTabs, problemView(error));
      return;
    }
    stopCandles = stream.subscribe(`candles.${interval}.${symbol}`, (m) => {
      if (!Array.isArray(m.candles)) return;
      for (const row of m.candles) candleRows.set(row.start, row);
      drawCandles();
    });
  }

  async function loadQuote() {
    try {
      const q = await get(`${path}/quote`);
      const model = Object.entries(q.model).map(([k, v]) => [`model.${k}`, typeof v === "object" ? JSON.stringify(v) : String(v)]);
      const greeks = q.greeks ? Object.entries(q.greeks).map(([k, v]) => [k, Number(v).toPrecision(6)]) : [];
      fill(
        quoteBox,
        facts([["fair value", q.fair_value], ["forward", q.forward], ...greeks, ...model, ["as of", when(q.as_of)], ["index as of", when(q.index_as_of)]]),
        q.stale ? h("p", { class: "badge warn" }, "stale: the index is older than the product allows") : null,
        h("button", { type: "button", class: "small", onclick: loadQuote }, "Refresh"),
      );
    } catch (error) {
      fill(quoteBox, problemView(error));
    }
  }

  let orders = [];
  async function loadOrders() {
    if (!signedIn) return;
    try {
      orders = await getAll("/v1/orders", { status: "live", symbol: instrument.symbol }, { auth: true });
      drawOrders();
    } catch (error) {
      fill(ordersBox, problemView(error));
    }
  }
  function drawOrders() {
    const message = h("div");
    const cancel = async (order) => {
      try {
        await call("DELETE", `/v1/orders/${encodeURIComponent(order.id)}`, { auth: true });
        await loadOrders();
      } catch (error) {
        fill(message, problemView(error));
      }
    };
    fill(
      ordersBox,
      message,
      table(
        [
          ["Order", (o) => h("code", { title: o.id }, o.id.slice(0, 10))],
          ["Side", (o) => o.side, "side"],
          ["Type", (o) => `${o.type} ${o.time_in_force}${o.post_only ? " post-only" : ""}`],
          ["Price", (o) => price(o.price, tick), "num"],
          ["Open", (o) => o.open_quantity, "num"],
          ["Filled", (o) => o.filled_quantity, "num"],
          ["Held", (o) => usd(o.reserved), "num"],
          ["Status", (o) => o.status],
          ["", (o) => h("button", { type: "button", class: "small", dataset: { cancel: o.id }, onclick: () => cancel(o) }, "Cancel")],
        ],
        orders,
        { empty: "No live orders on this instrument.", rowAttrs: (o) => ({ class: o.side, dataset: { orderId: o.id } }) },
      ),
    );
  }

  drawTicker();
  drawBook();
  drawTrades();
  await Promise.all([loadCandles(), loadQuote(), loadOrders()]);

  const stops = [
    stream.subscribe(`book.${symbol}`, (m) => {
      if (m.type !== "snapshot" && m.type !== "delta") return;
      book.apply(m);
      drawBook();
      ticket?.refresh();
    }),
    stream.subscribe(`trades.${symbol}`, (m) => {
      if (m.type !== "trade") return;
      trades = [m.trade, ...trades].slice(0, 50);
      drawTrades();
    }),
    stream.subscribe(`ticker.${symbol}`, (m) => {
      if (m.type !== "ticker") return;
      currentTicker = m.ticker;
      drawTicker();
    }),
  ];
  if (signedIn) {
    stops.push(
      stream.subscribe("orders", (m) => {
        if (m.type === "order" && m.order.symbol === symbol) loadOrders();
      }),
      stream.subscribe("balances", (m) => {
        if (!m.balances) return;
        balances = m.balances;
        ticket.refresh();
      }),
    );
  }
  return () => {
    for (const stop of stops) stop();
    stopCandles();
    depth.dispose();
    candles.dispose();
  };
}
