// The order ticket: limit or market, time in force, post-only, reduce-only; before sending it shows
// what the order will hold, computed with the exchange's own rule (market/trading.py):
//   a buy of a physical forward or an option holds its notional at the limit price (a market buy:
//   the worst ask it reaches now) plus the larger fee rate, per lot;
//   a cash-settled forward (either side) or a written option holds the instrument's margin per lot;
//   a sell of a physical forward holds no cash but lots x GPUs of the provider's listed capacity;
//   a reduce-only order holds nothing unless it is such a premium-paying buy.

import { call, problemView } from "./api.js";
import { field, fill, h, select } from "./dom.js";
import { fromMicros, onTick, toMicros, usd } from "./money.js";

const paysPremium = (instrument) => instrument.kind !== "forward" || instrument.settlement === "physical";

/**
 * What an order holds: {kind: "cash" | "margin" | "gpus" | "none", micros?, gpus?, perLot?, note}.
 * `worstAsk` is the price a market buy would reach (decimal string) or null.
 */
export function holdOf(instrument, { side, type, price, quantity, reduceOnly, worstAsk }) {
  const lots = BigInt(quantity);
  const physical = instrument.kind === "forward" && instrument.settlement === "physical";
  if (side === "buy" && paysPremium(instrument)) {
    const at = type === "market" ? worstAsk : price;
    const priceMicros = at === null || at === undefined ? 0n : toMicros(at);
    const notional = priceMicros * BigInt(instrument.lot_gpus) * BigInt(instrument.hours);
    const ppm = BigInt(Math.max(instrument.maker_fee_ppm, instrument.taker_fee_ppm));
    const perLot = notional + (notional * ppm) / 1_000_000n;
    const basis = type === "market" ? `the worst ask it reaches now, ${at ?? "none"}` : `the limit ${at}`;
    return {
      kind: "cash",
      micros: perLot * lots,
      perLot,
      note: `notional at ${basis} × ${instrument.lot_gpus} GPU × ${instrument.hours} h per lot${ppm ? ` + fee ${ppm} ppm` : ""}`,
    };
  }
  if (reduceOnly) return { kind: "none", micros: 0n, note: "a reduce-only order releases its position's margin" };
  if (physical) return { kind: "gpus", micros: 0n, gpus: lots * BigInt(instrument.lot_gpus), note: "GPUs of your unsold listed capacity" };
  const perLot = toMicros(instrument.margin_per_lot) ?? 0n;
  return { kind: "margin", micros: perLot * lots, perLot, note: `initial margin ${instrument.margin_per_lot} per lot` };
}

/**
 * A ticket for `instrument`. `book()` returns the LiveBook (for market buys), `available()` the
 * account's available cash now (decimal string) or null; `onPlaced(order)` is told of each new order.
 */
export function orderTicket(instrument, { book, available, onPlaced }) {
  const state = { side: "buy", type: "limit" };
  const priceInput = h("input", { name: "price", inputmode: "decimal", autocomplete: "off", placeholder: instrument.tick });
  const quantityInput = h("input", { name: "quantity", type: "number", min: 1, step: 1, value: 1, inputmode: "numeric" });
  const typeSelect = select("type", [["limit", "Limit"], ["market", "Market"]], "limit");
  const tifSelect = select("time_in_force", [["gtc", "GTC (good till cancelled)"], ["ioc", "IOC (immediate or cancel)"], ["fok", "FOK (fill or kill)"], ["gtd", "GTD (good till date)"]], "gtc");
  const expireInput = h("input", { name: "expire_at", type: "datetime-local" });
  const expireField = field("Expires (UTC)", expireInput);
  const postOnly = h("input", { type: "checkbox", name: "post_only" });
  const reduceOnly = h("input", { type: "checkbox", name: "reduce_only" });
  const holdBox = h("div", { class: "hold", id: "ticket-hold", "aria-live": "polite" });
  const errorsBox = h("div", { class: "ticket-errors" });
  const resultBox = h("div", { class: "ticket-result" });
  const sendButton = h("button", { type: "submit", class: "buy" }, "Buy");
  const sideButtons = ["buy", "sell"].map((side) =>
    h("button", { type: "button", dataset: { side }, onclick: () => ((state.side = side), update()) }, side === "buy" ? "Buy" : "Sell"),
  );

  /** The request body, or a list of what is wrong with the inputs. */
  function request() {
    const problems = [];
    const quantity = Number(quantityInput.value);
    if (!Number.isInteger(quantity) || quantity < 1) problems.push("quantity must be a whole number of lots, at least 1");
    const body = { symbol: instrument.symbol, side: state.side, type: state.type, quantity };
    if (state.type === "limit") {
      const price = priceInput.value.trim();
      if (!price) problems.push("a limit order needs a price");
      else if (toMicros(price) === null || toMicros(price) <= 0n) problems.push("price must be a positive decimal");
      else if (!onTick(price, instrument.tick)) problems.push(`price must be a multiple of the tick ${instrument.tick}`);
      else body.price = price;
    }
    const tif = tifSelect.value;
    body.time_in_force = tif;
    if (tif === "gtd") {
      if (!expireInput.value) problems.push("GTD needs an expiry");
      else body.expire_at = `${expireInput.value.length === 16 ? `${expireInput.value}:00` : expireInput.value}Z`;
    }
    if (postOnly.checked) body.post_only = true;
    if (reduceOnly.checked) body.reduce_only = true;
    return { body, problems };
  }

  function update() {
    state.type = typeSelect.value;
    const market = state.type === "market";
    priceInput.disabled = market;
    postOnly.disabled = market;
    if (market) postOnly.checked = false;
    for (const option of tifSelect.options) option.disabled = (market && (option.value === "gtc" || option.value === "gtd")) || (reduceOnly.checked && (option.value === "gtc" || option.value === "gtd"));
    if (tifSelect.selectedOptions[0]?.disabled) tifSelect.value = "ioc";
    expireField.hidden = tifSelect.value !== "gtd";
    for (const button of sideButtons) {
      const on = button.dataset.side === state.side;
      button.className = on ? `on ${state.side}-on` : "";
    }
    sendButton.className = state.side;
    sendButton.textContent = `${state.side === "buy" ? "Buy" : "Sell"} ${instrument.symbol}`;
    const { body, problems } = request();
    priceInput.classList.toggle("invalid", state.type === "limit" && problems.some((p) => p.startsWith("price") || p.includes("needs a price")) && priceInput.value !== "");
    fill(errorsBox, problems.length ? h("ul", { class: "muted" }, problems.map((p) => h("li", {}, p))) : null);
    sendButton.disabled = problems.length > 0;
    if (problems.length) {
      fill(holdBox, "Enter the order to see what it will hold.");
      return;
    }
    const hold = holdOf(instrument, {
      side: state.side,
      type: state.type,
      price: body.price,
      quantity: body.quantity,
      reduceOnly: reduceOnly.checked,
      worstAsk: book().worstAsk(body.quantity),
    });
    const lines = [];
    const cash = available();
    if (hold.kind === "gpus") lines.push(h("div", {}, "Holds ", h("strong", {}, `${hold.gpus} GPUs`), ` of ${hold.note}; no cash.`));
    else if (hold.kind === "none") lines.push(h("div", {}, "Holds ", h("strong", {}, "nothing"), `: ${hold.note}.`));
    else {
      lines.push(
        h("div", {}, "Holds ", h("strong", { dataset: { micros: hold.micros.toString() } }, `USD ${usd(hold.micros)}`), ` ${hold.kind === "cash" ? "of cash" : "as margin"}`),
        h("div", { class: "muted" }, `${fromMicros(hold.perLot)} per lot: ${hold.note}`),
      );
      if (cash !== null && toMicros(cash) !== null && hold.micros > toMicros(cash)) {
        lines.push(h("div", { class: "sell-text" }, `more than your available USD ${usd(cash)}: the exchange will refuse it (insufficient_funds)`));
      }
    }
    if (cash !== null) lines.push(h("div", { class: "muted" }, `Available: USD ${usd(cash)}`));
    fill(holdBox, lines);
  }

  const form = h(
    "form",
    {
      class: "stack",
      id: "order-ticket",
      oninput: update,
      onchange: update,
      onsubmit: async (event) => {
        event.preventDefault();
        const { body, problems } = request();
        if (problems.length) return;
        body.client_order_id = `ui-${crypto.randomUUID().slice(0, 18)}`;
        sendButton.disabled = true;
        fill(resultBox);
        try {
          const order = await call("POST", "/v1/orders", { body, auth: true });
          fill(
            resultBox,
            h(
              "div",
              { class: "ok", dataset: { orderId: order.id } },
              `Order ${order.id.slice(0, 8)}… ${order.status}: ${order.filled_quantity} of ${order.quantity} filled`,
              order.reason ? ` (${order.reason})` : "",
              order.reserved !== "0.000000" ? `, USD ${usd(order.reserved)} held` : "",
            ),
          );
          onPlaced(order);
        } catch (error) {
          fill(resultBox, problemView(error));
        } finally {
          update();
        }
      },
    },
    h("div", { class: "segmented", role: "group", "aria-label": "side" }, sideButtons),
    h("div", { class: "row" }, field("Type", typeSelect), field("Quantity (lots)", quantityInput, `${instrument.lot_gpus} GPU per lot`)),
    h("div", { class: "row" }, field(`Price (USD/GPU-h, tick ${instrument.tick})`, priceInput), field("Time in force", tifSelect)),
    expireField,
    h("div", { class: "row" }, h("label", { class: "check" }, postOnly, "Post-only"), h("label", { class: "check" }, reduceOnly, "Reduce-only")),
    holdBox,
    errorsBox,
    sendButton,
    resultBox,
  );
  update();
  return { element: form, refresh: update, setPrice: (p) => ((priceInput.value = p), update()) };
}
