// Provider (signed in with the provider role): list capacity, reduce or withdraw it, see each covered
// forward's inventory (listed, sold, offered, free), the deliveries to fulfil and what buyers owe.

import { apiKey, call, get, getAll, mapLimited, problemView } from "../api.js";
import { field, fill, h, panel, select, table } from "../dom.js";
import { price, toMicros, usd } from "../money.js";
import { stream } from "../stream.js";
import { when } from "../time.js";
import { signInFirst } from "./portfolio.js";

const link = (symbol) => h("a", { href: `#/instrument/${encodeURIComponent(symbol)}` }, symbol);
const utc = (local) => (local ? `${local.length === 16 ? `${local}:00` : local}Z` : null);
const sum = (values) => values.reduce((a, b) => a + b, 0);

const DAY = 86_400_000;
const daysOf = (start, end) => {
  const days = [];
  for (let t = Date.parse(start); t < Date.parse(end); t += DAY) days.push(t);
  return days;
};

/**
 * Each covered forward's GPUs, by the exchange's rule (market/trading.py, offerable_gpus): `listed` by
 * the listings covering its window, `sold` (your short position), `offered` (your live asks), and
 * `free` to offer: what is left in the forward itself and on every day of its window, where the
 * forwards that overlap a day (a month, its weeks and days) share that day's listed GPUs.
 */
export function inventoryOf(listings, instruments, positions, orders) {
  const rows = new Map();
  for (const listing of listings) {
    for (const symbol of listing.covers) {
      const inst = instruments.get(symbol);
      if (!inst) continue;
      const row = rows.get(symbol) || { symbol, inst, listed: 0, listings: [] };
      row.listed += listing.gpus;
      row.listings.push(listing.id);
      rows.set(symbol, row);
    }
  }
  const listedOn = new Map(); // day -> GPUs listed for the whole day, per product
  const committedOn = new Map(); // day -> GPUs sold or offered in forwards covering it, per product
  const add = (map, key, gpus) => map.set(key, (map.get(key) || 0) + gpus);
  for (const listing of listings) {
    for (const day of daysOf(listing.start, listing.end)) if (day + DAY <= Date.parse(listing.end)) add(listedOn, `${listing.product} ${day}`, listing.gpus);
  }
  for (const row of rows.values()) {
    const position = positions.find((p) => p.symbol === row.symbol);
    row.sold = position && position.quantity < 0 ? -position.quantity * row.inst.lot_gpus : 0;
    row.offered = sum(orders.filter((o) => o.symbol === row.symbol && o.side === "sell").map((o) => o.open_quantity * row.inst.lot_gpus));
    for (const day of daysOf(row.inst.window_start, row.inst.window_end)) add(committedOn, `${row.inst.product} ${day}`, row.sold + row.offered);
  }
  for (const row of rows.values()) {
    const days = daysOf(row.inst.window_start, row.inst.window_end).map((d) => `${row.inst.product} ${d}`);
    row.free = Math.max(0, Math.min(row.listed - row.sold - row.offered, ...days.map((d) => (listedOn.get(d) || 0) - (committedOn.get(d) || 0))));
  }
  return [...rows.values()].sort((a, b) => a.inst.window_start.localeCompare(b.inst.window_start) || b.inst.hours - a.inst.hours);
}

export async function render(root) {
  if (!apiKey()) return signInFirst(root, "Provider");
  const me = await get("/v1/me", {}, true);
  if (!me.account.roles.includes("provider")) {
    fill(root, panel("Provider", h("p", { class: "muted" }, `${me.account.name} has no provider role: sign in with a provider's key to list capacity.`)));
    return null;
  }
  const products = await getAll("/v1/products");
  const formBox = h("div", { id: "listing-form" });
  const listingsBox = h("div", { id: "listings" });
  const inventoryBox = h("div", { id: "inventory" });
  const deliveriesBox = h("div", { id: "provider-deliveries" });
  const receivablesBox = h("div", { id: "receivables" });
  fill(
    root,
    h("h1", {}, me.account.name, h("small", {}, "provider")),
    h(
      "div",
      { class: "grid" },
      h("div", { class: "span-4" }, panel("List capacity", formBox)),
      h("div", { class: "span-8" }, panel("Listings", listingsBox)),
      h("div", { class: "span-12" }, panel("Inventory per forward", inventoryBox)),
      h("div", { class: "span-6" }, panel("Deliveries to fulfil", deliveriesBox)),
      h("div", { class: "span-6" }, panel("Receivables", receivablesBox)),
    ),
  );

  const instruments = new Map();
  async function load() {
    const [listings, positions, orders, deliveries] = await Promise.all([
      getAll("/v1/listings", {}, { auth: true }),
      getAll("/v1/positions", {}, { auth: true }),
      getAll("/v1/orders", { status: "live" }, { auth: true }),
      getAll("/v1/deliveries", {}, { auth: true, max: 500 }),
    ]);
    const symbols = [...new Set(listings.flatMap((l) => l.covers).concat(positions.map((p) => p.symbol)))].filter((s) => !instruments.has(s));
    await mapLimited(symbols, 6, async (s) => instruments.set(s, await get(`/v1/instruments/${encodeURIComponent(s)}`)));
    drawListings(listings);
    drawInventory(inventoryOf(listings, instruments, positions, orders));
    drawDeliveries(deliveries.filter((d) => d.provider_id === me.account.id));
    drawReceivables(positions.filter((p) => p.quantity < 0 && instruments.get(p.symbol)?.settlement === "physical"));
  }

  function drawForm() {
    const message = h("div");
    const product = select("product", products.map((p) => [p.id, `${p.id} ${p.description}`]), products[0]?.id);
    const gpus = h("input", { name: "gpus", type: "number", min: 1, step: 1, value: 8, required: true });
    const start = h("input", { name: "start", type: "datetime-local", step: 3600, required: true });
    const end = h("input", { name: "end", type: "datetime-local", step: 3600, required: true });
    const mode = select("auto_offer", [["none", "no auto-offer"], ["reserve", "ask at the reserve price"], ["fair_value", "ask at fair value + spread"]], "none");
    const reserve = h("input", { name: "reserve_price", inputmode: "decimal", placeholder: "e.g. 2.100" });
    const spread = h("input", { name: "spread", inputmode: "decimal", value: "0.040" });
    const submit = async (event) => {
      event.preventDefault();
      const body = { product: product.value, gpus: Number(gpus.value), start: utc(start.value), end: utc(end.value), auto_offer: mode.value };
      if (reserve.value.trim()) body.reserve_price = reserve.value.trim();
      if (mode.value === "fair_value") body.spread = spread.value.trim();
      fill(message);
      try {
        const listing = await call("POST", "/v1/listings", { body, auth: true, idempotent: true });
        fill(message, h("div", { class: "ok" }, `Listing ${listing.id}: ${listing.gpus} ${listing.product} GPUs, covering ${listing.covers.length} forwards.`));
        await load();
      } catch (error) {
        fill(message, problemView(error));
      }
    };
    fill(
      formBox,
      h(
        "form",
        { class: "stack", onsubmit: submit },
        field("Product", product),
        field("GPUs", gpus),
        h("div", { class: "row" }, field("From (UTC, whole hour)", start), field("Until (UTC)", end)),
        field("Auto-offer", mode, "asks placed and re-priced by the exchange's lifecycle"),
        h("div", { class: "row" }, field("Reserve price", reserve), field("Spread over fair value", spread)),
        h("button", { type: "submit", class: "primary" }, "List capacity"),
        message,
      ),
    );
  }

  function drawListings(listings) {
    const message = h("div");
    const act = async (work) => {
      fill(message);
      try {
        await work();
        await load();
      } catch (error) {
        fill(message, problemView(error));
      }
    };
    fill(
      listingsBox,
      message,
      table(
        [
          ["#", (l) => l.id, "num"],
          ["Product", (l) => l.product],
          ["GPUs", (l) => l.gpus, "num"],
          ["Window", (l) => `${when(l.start)} → ${when(l.end)}`],
          ["Auto-offer", (l) => (l.auto_offer === "none" ? "—" : l.auto_offer === "reserve" ? `at ${price(l.reserve_price)}` : `fair + ${price(l.spread)}${l.reserve_price ? ` (≥ ${price(l.reserve_price)})` : ""}`)],
          ["Covers", (l) => `${l.covers.length} forwards`],
          [
            "Reduce to",
            (l) => {
              const input = h("input", { type: "number", min: 0, step: 1, value: l.gpus, style: "width:6em", "aria-label": "GPUs" });
              return h("span", { class: "row" }, input, h("button", { type: "button", class: "small", onclick: () => act(() => call("PATCH", `/v1/listings/${l.id}`, { body: { gpus: Number(input.value) }, auth: true })) }, "Reduce"));
            },
          ],
          ["", (l) => h("button", { type: "button", class: "small", onclick: () => act(() => call("DELETE", `/v1/listings/${l.id}`, { auth: true })) }, "Withdraw")],
        ],
        listings.filter((l) => l.gpus > 0),
        { empty: "No listings yet.", rowAttrs: (l) => ({ dataset: { listing: l.id } }) },
      ),
    );
  }

  function drawInventory(rows) {
    fill(
      inventoryBox,
      table(
        [
          ["Forward", (r) => link(r.symbol)],
          ["Window", (r) => `${r.inst.window_kind} ${r.inst.window_start.slice(0, 10)} → ${r.inst.window_end.slice(0, 10)}`],
          ["Listed", (r) => r.listed, "num"],
          ["Sold", (r) => r.sold, "num"],
          ["Offered", (r) => r.offered, "num"],
          ["Free", (r) => r.free, "num"],
          ["Listings", (r) => r.listings.join(", ")],
        ],
        rows,
        { empty: "List capacity to see the forwards it backs.", rowAttrs: (r) => ({ dataset: { symbol: r.symbol } }) },
      ),
      h("p", { class: "muted" }, "GPUs per forward. Listed: your listings covering its window; sold: your short position; offered: your live asks; free: what you can still offer in it, on every day of its window (a month, its weeks and its days draw on the same days)."),
    );
  }

  function drawDeliveries(deliveries) {
    fill(
      deliveriesBox,
      table(
        [
          ["#", (d) => d.id, "num"],
          ["Forward", (d) => link(d.symbol)],
          ["GPUs", (d) => d.gpus, "num"],
          ["Window", (d) => `${when(d.window_start)} → ${when(d.window_end)}`],
          ["Listing", (d) => d.listing_id, "num"],
        ],
        deliveries,
        { empty: "No deliveries yet: they are created when a sold forward's window starts." },
      ),
    );
  }

  function drawReceivables(shorts) {
    const total = shorts.reduce((a, p) => a - toMicros(p.cost), 0n);
    fill(
      receivablesBox,
      table(
        [
          ["Forward", (p) => link(p.symbol)],
          ["GPUs sold", (p) => -p.quantity * instruments.get(p.symbol).lot_gpus, "num"],
          ["Delivery", (p) => `${when(instruments.get(p.symbol).window_start)} → ${when(instruments.get(p.symbol).window_end)}`],
          ["Proceeds (USD)", (p) => usd(-toMicros(p.cost)), "num"],
        ],
        shorts,
        { empty: "Nothing sold yet." },
      ),
      h("p", { class: "muted" }, `Total USD ${usd(total)}, held in escrow from the buyers and paid to you as the GPUs are delivered.`),
    );
  }

  drawForm();
  await load();
  let timer = null;
  const stop = stream.subscribe("orders", () => {
    timer ??= setTimeout(() => ((timer = null), load().catch(() => {})), 300);
  });
  return () => {
    stop();
    clearTimeout(timer);
  };
}
