// Portfolio (signed in): balances, margin calls, positions with mark and P&L, live orders (amend,
// cancel, cancel all), fills, ledger, the statement (with its CSV), deliveries, the margin and risk
// report, and API keys.

import { apiKey, call, download, get, getAll, mapLimited, problemView, setApiKey } from "../api.js";
import { deliveriesView } from "../deliveries.js";
import { field, fill, h, panel, table } from "../dom.js";
import { price, usd } from "../money.js";
import { stream } from "../stream.js";
import { daysAgo, when } from "../time.js";

const SCOPES = ["read", "trade", "transfer"];
const link = (symbol) => h("a", { href: `#/instrument/${encodeURIComponent(symbol)}` }, symbol);

/** The sign-in prompt a private page shows without a key. */
export function signInFirst(root, what) {
  fill(root, panel(what, h("p", { class: "muted" }, "Sign in with an API key (top right) to see this page.")));
  return null;
}

export async function render(root) {
  if (!apiKey()) return signInFirst(root, "Portfolio");
  const me = await get("/v1/me", {}, true);
  const balancesBox = h("div", { id: "balances" });
  const positionsBox = h("div", { id: "positions" });
  const ordersBox = h("div", { id: "orders" });
  const fillsBox = h("div", { id: "fills" });
  const ledgerBox = h("div", { id: "ledger" });
  const statementBox = h("div", { id: "statement" });
  const deliveriesBox = h("div", { id: "deliveries" });
  const callsBox = h("div", { id: "margin-calls" });
  const riskBox = h("div", { id: "risk" }, h("p", { class: "loading" }, "Computing the risk report…"));
  const keysBox = h("div", { id: "keys" });
  fill(
    root,
    h("h1", {}, me.account.name, h("small", {}, `${me.account.id} · ${me.account.roles.join(", ")}`)),
    h(
      "div",
      { class: "grid" },
      h("div", { class: "span-12" }, panel("Balances", balancesBox, callsBox)),
      h("div", { class: "span-12" }, panel("Positions", positionsBox)),
      h("div", { class: "span-12" }, panel("Live orders", ordersBox)),
      h("div", { class: "span-6" }, panel("Fills", fillsBox)),
      h("div", { class: "span-6" }, panel("Ledger", ledgerBox)),
      h("div", { class: "span-12" }, panel("Statement", statementBox)),
      h("div", { class: "span-12" }, panel("Margin and risk", riskBox)),
      h("div", { class: "span-12" }, panel("Deliveries", deliveriesBox)),
      h("div", { class: "span-12" }, panel("API keys", keysBox)),
    ),
  );

  const instruments = new Map();
  const instrument = async (symbol) => {
    if (!instruments.has(symbol)) instruments.set(symbol, await get(`/v1/instruments/${encodeURIComponent(symbol)}`));
    return instruments.get(symbol);
  };

  let openOrders = me.open_orders;
  function drawBalances(b) {
    fill(
      balancesBox,
      h(
        "div",
        { class: "cards" },
        [["Cash", b.cash], ["Available", b.available], ["Held by orders", b.reserved], ["Margin", b.margin]].map(([k, v]) =>
          h("div", { class: "card", dataset: { balance: k.toLowerCase() } }, h("span", {}, k), h("b", { title: v }, usd(v))),
        ),
        h("div", { class: "card" }, h("span", {}, "Live orders"), h("b", {}, openOrders)),
      ),
    );
  }

  async function loadBalances() {
    const now = await get("/v1/me", {}, true);
    openOrders = now.open_orders;
    drawBalances(now.balances);
    const calls = await get("/v1/margin-calls", {}, true); // a plain list, not paged
    fill(
      callsBox,
      h("h3", {}, "Margin calls"),
      table(
        [
          ["#", (c) => c.id],
          ["Status", (c) => h("span", { class: `badge ${c.status === "closed" || c.status === "met" ? "" : "warn"}` }, c.status)],
          ["Required", (c) => usd(c.required), "num"],
          ["Held", (c) => usd(c.held), "num"],
          ["Amount", (c) => usd(c.amount), "num"],
          ["Opened", (c) => when(c.created_at)],
          ["Deadline", (c) => when(c.deadline)],
          ["Closed", (c) => when(c.closed_at)],
        ],
        calls,
        { empty: "No margin calls." },
      ),
    );
  }

  const pnl = (value) => h("span", { class: value.startsWith("-") ? "sell-text" : "buy-text", title: value }, usd(value));

  async function loadPositions() {
    // average price, mark and P&L are the exchange's (GET /v1/positions), not worked out here
    const [open, closed] = await Promise.all([
      getAll("/v1/positions", {}, { auth: true }),
      get("/v1/positions", { state: "closed", limit: 50 }, true),
    ]);
    const held = open.filter((p) => p.quantity !== 0);
    const rows = await mapLimited(held, 6, async (p) => ({ ...p, inst: await instrument(p.symbol) }));
    fill(
      positionsBox,
      table(
        [
          ["Symbol", (p) => link(p.symbol)],
          ["Lots", (p) => p.quantity, "num"],
          ["GPU-hours", (p) => Math.abs(p.quantity) * p.inst.lot_gpus * p.inst.hours, "num"],
          ["Cost", (p) => usd(p.cost), "num"],
          ["Avg price", (p) => price(p.average_price), "num"],
          ["Mark", (p) => price(p.mark), "num"],
          ["Unrealised P&L", (p) => pnl(p.unrealised_pnl), "num"],
          ["Realised P&L", (p) => pnl(p.realised_pnl), "num"],
          ["Margin", (p) => usd(p.margin), "num"],
          ["Window", (p) => (p.inst.window_start ? `${p.inst.window_start.slice(0, 10)} → ${p.inst.window_end.slice(0, 10)}` : "—")],
        ],
        rows,
        { empty: "No open positions.", rowAttrs: (p) => ({ dataset: { symbol: p.symbol } }) },
      ),
      h("h3", {}, "Closed positions"),
      table(
        [
          ["Symbol", (p) => link(p.symbol)],
          ["Realised P&L", (p) => pnl(p.realised_pnl), "num"],
        ],
        closed.items,
        { empty: "No closed positions.", rowAttrs: (p) => ({ dataset: { closed: p.symbol } }) },
      ),
      h("p", { class: "muted" }, "P&L in USD as the exchange reports it (GET /v1/positions)."),
    );
  }

  async function loadOrders() {
    const orders = await getAll("/v1/orders", { status: "live" }, { auth: true });
    const message = h("div", { class: "orders-message" });
    const act = async (work) => {
      fill(message);
      try {
        await work();
        await Promise.all([loadOrders(), loadBalances()]);
      } catch (error) {
        fill(message, problemView(error));
      }
    };
    const amendCell = (o) => {
      const qty = h("input", { type: "number", name: "amend_quantity", min: 1, step: 1, value: o.open_quantity, style: "width:6em", "aria-label": "new quantity" });
      const px = h("input", { name: "amend_price", value: o.price ?? "", inputmode: "decimal", style: "width:7em", "aria-label": "new price", disabled: o.price === null });
      const send = () => {
        const body = {};
        if (Number(qty.value) !== o.open_quantity) body.quantity = Number(qty.value); // the new open quantity
        if (o.price !== null && px.value.trim() !== o.price) body.price = px.value.trim();
        if (!Object.keys(body).length) return;
        act(() => call("PATCH", `/v1/orders/${encodeURIComponent(o.id)}`, { body, auth: true }));
      };
      return h("span", { class: "row" }, qty, px, h("button", { type: "button", class: "small", dataset: { amend: o.id }, onclick: send }, "Amend"));
    };
    fill(
      ordersBox,
      h(
        "div",
        { class: "row" },
        h(
          "button",
          { type: "button", id: "cancel-all", disabled: !orders.length, onclick: () => act(() => call("DELETE", "/v1/orders", { auth: true })) },
          `Cancel all (${orders.length})`,
        ),
      ),
      message,
      table(
        [
          ["Order", (o) => h("code", { title: o.id }, o.id.slice(0, 10))],
          ["Symbol", (o) => link(o.symbol)],
          ["Side", (o) => o.side, "side"],
          ["Type", (o) => `${o.type} ${o.time_in_force}${o.post_only ? " post-only" : ""}`],
          ["Price", (o) => price(o.price), "num"],
          ["Open", (o) => o.open_quantity, "num"],
          ["Filled", (o) => o.filled_quantity, "num"],
          ["Held", (o) => usd(o.reserved), "num"],
          ["Placed", (o) => when(o.created_at)],
          ["Amend (open lots, price)", amendCell],
          ["", (o) => h("button", { type: "button", class: "small", dataset: { cancel: o.id }, onclick: () => act(() => call("DELETE", `/v1/orders/${encodeURIComponent(o.id)}`, { auth: true })) }, "Cancel")],
        ],
        orders,
        { empty: "No live orders.", rowAttrs: (o) => ({ class: o.side, dataset: { orderId: o.id } }) },
      ),
    );
  }

  async function loadHistory() {
    const [fills, ledger, deliveries] = await Promise.all([
      get("/v1/fills", { order: "desc", limit: 50 }, true),
      get("/v1/ledger", { order: "desc", limit: 50 }, true),
      getAll("/v1/deliveries", {}, { auth: true, max: 500 }),
    ]);
    fill(
      fillsBox,
      table(
        [
          ["Time", (f) => when(f.created_at)],
          ["Symbol", (f) => link(f.symbol)],
          ["Side", (f) => f.side, "side"],
          ["Price", (f) => price(f.price), "num"],
          ["Lots", (f) => f.quantity, "num"],
          ["Liquidity", (f) => f.liquidity],
          ["Fee", (f) => usd(f.fee), "num"],
        ],
        fills.items,
        { empty: "No fills yet.", rowAttrs: (f) => ({ class: f.side }) },
      ),
    );
    fill(
      ledgerBox,
      table(
        [
          ["Time", (e) => when(e.created_at)],
          ["Kind", (e) => e.kind],
          ["Bucket", (e) => e.bucket],
          ["Amount", (e) => h("span", { class: e.amount.startsWith("-") ? "sell-text" : "buy-text" }, usd(e.amount)), "num"],
          ["Reference", (e) => e.ref ?? ""],
        ],
        ledger.items,
        { empty: "No ledger entries." },
      ),
    );
    fill(deliveriesBox, deliveriesView(deliveries, me.account.id, loadHistory));
  }

  /** The statement over [from, until) (UTC days): one line per business event with the running
   * balance (GET /v1/statement), and the same as CSV (GET /v1/statement.csv) to download. */
  function drawStatementForm() {
    const from = h("input", { type: "date", name: "from", value: daysAgo(30).slice(0, 10), required: true });
    const until = h("input", { type: "date", name: "until", value: daysAgo(-1).slice(0, 10), required: true });
    const result = h("div", { class: "statement-lines" });
    const span = () => ({ start: `${from.value}T00:00:00Z`, end: `${until.value}T00:00:00Z` });
    const show = async (event) => {
      event?.preventDefault();
      try {
        const statement = await get("/v1/statement", span(), true);
        fill(
          result,
          h("p", { class: "muted" }, "Opening balance USD ", h("b", { dataset: { opening: statement.opening_balance } }, usd(statement.opening_balance)), " · closing balance USD ", h("b", { dataset: { closing: statement.closing_balance } }, usd(statement.closing_balance))),
          table(
            [
              ["Time", (l) => when(l.at)],
              ["Kind", (l) => l.kind],
              ["Instrument", (l) => (l.symbol ? link(l.symbol) : "")],
              ["Lots", (l) => l.quantity ?? "", "num"],
              ["Reference", (l) => l.ref ?? ""],
              ["Amount", (l) => pnl(l.amount), "num"],
              ["Balance", (l) => h("span", { title: l.balance }, usd(l.balance)), "num"],
            ],
            statement.lines,
            { empty: "Nothing happened in these days.", rowAttrs: (l) => ({ dataset: { line: l.id } }) },
          ),
          statement.more ? h("p", { class: "muted" }, "More lines follow: narrow the dates, or download the CSV.") : null,
        );
      } catch (error) {
        fill(result, problemView(error));
      }
    };
    const csv = async () => {
      try {
        await download("/v1/statement.csv", span(), `flopex-statement-${from.value}-${until.value}.csv`);
      } catch (error) {
        fill(result, problemView(error));
      }
    };
    fill(
      statementBox,
      h(
        "form",
        { class: "row", id: "statement-form", onsubmit: show },
        field("From (UTC day)", from),
        field("Until (UTC day, excluded)", until),
        h("button", { type: "submit", class: "primary" }, "Show"),
        h("button", { type: "button", id: "statement-csv", onclick: csv }, "Download CSV"),
      ),
      result,
    );
    return show;
  }

  async function loadRisk() {
    try {
      const risk = await get("/v1/risk", {}, true);
      fill(
        riskBox,
        h("h3", {}, "Portfolio margin by product"),
        table(
          [
            ["Product", (m) => m.product],
            ["Required", (m) => usd(m.required), "num"],
            ["Scan", (m) => usd(m.scan), "num"],
            ["Spread", (m) => usd(m.spread), "num"],
            ["Option value", (m) => usd(m.option_value), "num"],
            ["Floor", (m) => usd(m.floor), "num"],
            ["Per instrument", (m) => usd(m.per_instrument), "num"],
            ["Vol", (m) => m.vol.toFixed(3), "num"],
          ],
          risk.margin,
          { empty: "No margined positions." },
        ),
        h("h3", {}, "Risk by product (USD)"),
        table(
          [
            ["Product", (r) => r.product],
            ["Delta", (r) => r.delta.toFixed(1), "num"],
            ["Gamma", (r) => r.gamma.toFixed(1), "num"],
            ["Vega", (r) => r.vega.toFixed(1), "num"],
            ["Hist. VaR 99%", (r) => (r.historical_var === null ? "—" : r.historical_var.toFixed(2)), "num"],
            ["MC VaR 99%", (r) => r.mc_var.toFixed(2), "num"],
            ["MC ES 99%", (r) => r.mc_es.toFixed(2), "num"],
            ["Stress", (r) => Object.entries(r.stress).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(" · ")],
          ],
          risk.products,
          { empty: "No positions at risk." },
        ),
        h("p", { class: "muted" }, `as of ${when(risk.as_of)}`),
      );
    } catch (error) {
      fill(riskBox, problemView(error));
    }
  }

  async function loadKeys() {
    const keys = await get("/v1/me/keys", {}, true); // a plain list, not paged
    const current = apiKey();
    const message = h("div", { class: "keys-message" });
    const boxes = SCOPES.map((scope) => h("label", { class: "check" }, h("input", { type: "checkbox", name: "scope", value: scope, checked: scope === "read" }), scope));
    const create = async (event) => {
      event.preventDefault();
      const scopes = boxes.map((b) => b.querySelector("input")).filter((i) => i.checked).map((i) => i.value);
      try {
        const issued = await call("POST", "/v1/me/keys", { body: { scopes }, auth: true, idempotent: true });
        await loadKeys();
        fill(
          keysBox.querySelector(".keys-message"),
          h("div", { class: "ok", id: "new-key" }, h("strong", {}, `New key ${issued.key.prefix} (${issued.key.scopes.join(", ")}): `), h("code", {}, issued.api_key), h("p", { class: "muted" }, "Shown this once: copy it now.")),
        );
      } catch (error) {
        fill(message, problemView(error));
      }
    };
    const revoke = async (key) => {
      try {
        await call("DELETE", `/v1/me/keys/${encodeURIComponent(key.prefix)}`, { auth: true });
        if (current && current.startsWith(key.prefix)) setApiKey(null); // this session's own key
        else await loadKeys();
      } catch (error) {
        fill(message, problemView(error));
      }
    };
    fill(
      keysBox,
      h("form", { class: "row", id: "new-key-form", onsubmit: create }, h("span", { class: "muted" }, "New key with scopes:"), boxes, h("button", { type: "submit", class: "primary" }, "Create key")),
      message,
      table(
        [
          ["Prefix", (k) => h("code", {}, k.prefix)],
          ["Scopes", (k) => k.scopes.join(", ")],
          ["Created", (k) => when(k.created_at)],
          ["Revoked", (k) => when(k.revoked_at)],
          ["", (k) => (current && current.startsWith(k.prefix) ? h("span", { class: "badge open" }, "this session") : "")],
          ["", (k) => (k.revoked_at ? "" : h("button", { type: "button", class: "small", dataset: { revoke: k.prefix }, onclick: () => revoke(k) }, "Revoke"))],
        ],
        keys,
        { rowAttrs: (k) => ({ dataset: { prefix: k.prefix } }) },
      ),
    );
  }

  const showStatement = drawStatementForm();
  await Promise.all([loadBalances(), loadPositions(), loadOrders(), loadHistory(), loadKeys(), showStatement()]);
  loadRisk(); // Monte Carlo VaR takes a while: the page is ready before it, its panel says so
  let timer = null;
  const stopBalances = stream.subscribe("balances", (m) => m.balances && drawBalances(m.balances)); // live
  const stop = stream.subscribe("orders", (m) => {
    if (m.type !== "order" && m.type !== "margin_call") return;
    timer ??= setTimeout(() => {
      timer = null;
      Promise.all([loadBalances(), loadOrders(), loadPositions(), loadHistory()]).catch(() => {});
    }, 300);
  });
  return () => {
    stop();
    stopBalances();
    clearTimeout(timer);
  };
}
