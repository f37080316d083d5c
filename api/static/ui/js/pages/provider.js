// Provider (signed in with the provider role): list capacity, change its auto-offer, reduce or withdraw it, see the inventory
// of every forward the listings back (GET /v1/listings/inventory, or one listing's), the deliveries to
// fulfil (attach how the buyer reaches the GPUs) and the escrow owed to you.

import { apiKey, call, get, getAll, problemView } from "../api.js";
import { deliveriesView } from "../deliveries.js";
import { field, fill, h, panel, select, table } from "../dom.js";
import { price, toMicros, usd } from "../money.js";
import { stream } from "../stream.js";
import { when } from "../time.js";
import { signInFirst } from "./portfolio.js";

const link = (symbol) => h("a", { href: `#/instrument/${encodeURIComponent(symbol)}` }, symbol);
const utc = (local) => (local ? `${local.length === 16 ? `${local}:00` : local}Z` : null);

/** Listed, sold, offered and free GPUs per forward, as the exchange counts them (an InventoryOut);
 * `more` adds columns. */
function inventoryTable(inventory, empty, more = []) {
  return table(
    [
      ["Forward", (line) => link(line.symbol)],
      ["Status", (line) => line.status],
      ["Listed", (line) => line.listed, "num"],
      ["Sold", (line) => line.sold, "num"],
      ["Offered", (line) => line.offered, "num"],
      ["Free", (line) => line.free, "num"],
      ["Owed to you", (line) => usd(line.receivable), "num"],
      ...more,
    ],
    inventory.forwards,
    { empty, rowAttrs: (line) => ({ dataset: { symbol: line.symbol } }) },
  );
}

const AUTO_OFFERS = [["none", "no auto-offer"], ["reserve", "ask at the reserve price"], ["fair_value", "ask at fair value + spread"]];

/** A listing's auto-offer settings, changeable in place (PUT /v1/listings/{id}/auto-offer): the
 * exchange places, re-prices or cancels the listing's asks at once. `act` runs the call and reloads. */
function autoOfferCell(listing, act) {
  const mode = select("auto_offer", AUTO_OFFERS, listing.auto_offer);
  const reserve = h("input", { name: "reserve_price", value: listing.reserve_price ? price(listing.reserve_price) : "", placeholder: "reserve", inputmode: "decimal", style: "width:6em", "aria-label": "reserve price" });
  const spread = h("input", { name: "spread", value: price(listing.spread), inputmode: "decimal", style: "width:5em", "aria-label": "spread over fair value" });
  const show = () => {
    reserve.hidden = mode.value === "none";
    spread.hidden = mode.value !== "fair_value";
  };
  mode.addEventListener("change", show);
  show();
  const send = () => {
    const body = { auto_offer: mode.value };
    if (mode.value !== "none" && reserve.value.trim()) body.reserve_price = reserve.value.trim();
    if (mode.value === "fair_value") body.spread = spread.value.trim();
    act(() => call("PUT", `/v1/listings/${listing.id}/auto-offer`, { body, auth: true }));
  };
  return h("span", { class: "row" }, mode, reserve, spread, h("button", { type: "button", class: "small", dataset: { autoOffer: listing.id }, onclick: send }, "Set"));
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
  const listingInventoryBox = h("div", { id: "listing-inventory" });
  fill(
    root,
    h("h1", {}, me.account.name, h("small", {}, "provider")),
    h(
      "div",
      { class: "grid" },
      h("div", { class: "span-4" }, panel("List capacity", formBox)),
      h("div", { class: "span-8" }, panel("Listings", listingsBox, listingInventoryBox)),
      h("div", { class: "span-12" }, panel("Inventory per forward", inventoryBox)),
      h("div", { class: "span-12" }, panel("Deliveries to fulfil", deliveriesBox)),
      h("div", { class: "span-12" }, panel("Receivables", receivablesBox)),
    ),
  );

  async function load() {
    const [listings, inventory, deliveries] = await Promise.all([
      getAll("/v1/listings", {}, { auth: true }),
      get("/v1/listings/inventory", {}, true),
      getAll("/v1/deliveries", {}, { auth: true, max: 500 }),
    ]);
    drawListings(listings);
    fill(inventoryBox, inventoryTable(inventory, "List capacity to see the forwards it backs."));
    fill(deliveriesBox, deliveriesView(deliveries.filter((d) => d.provider_id === me.account.id), me.account.id, load));
    drawReceivables(inventory);
  }

  /** A listing's own inventory, and per open forward the access handle attached ahead of its window
   * (POST /v1/listings/{id}/access): delivery records copy it at delivery start. */
  async function showListing(listing) {
    const message = h("div");
    try {
      const [inventory, ahead] = await Promise.all([get(`/v1/listings/${listing.id}/inventory`, {}, true), get(`/v1/listings/${listing.id}/access`, {}, true)]);
      const handles = new Map(ahead.map((a) => [a.symbol, a.access_handle]));
      const attach = (line) => {
        if (line.status !== "open") return handles.get(line.symbol) ? h("code", {}, handles.get(line.symbol)) : "";
        const handle = h("input", { name: "handle", value: handles.get(line.symbol) ?? "", placeholder: "ssh user@host", style: "width:11em", "aria-label": "access handle ahead" });
        const send = async () => {
          fill(message);
          try {
            await call("POST", `/v1/listings/${listing.id}/access`, { body: { symbol: line.symbol, handle: handle.value.trim() }, auth: true });
            await showListing(listing);
          } catch (error) {
            fill(message, problemView(error));
          }
        };
        return h("span", { class: "row" }, handle, h("button", { type: "button", class: "small", dataset: { ahead: line.symbol }, onclick: send }, "Attach ahead"));
      };
      fill(
        listingInventoryBox,
        h("h3", {}, `Listing ${listing.id}: ${listing.gpus} ${listing.product} GPUs, collateral USD ${usd(inventory.collateral)}`),
        message,
        inventoryTable(inventory, "This listing backs no open forward.", [["Access ahead", attach]]),
      );
    } catch (error) {
      fill(listingInventoryBox, problemView(error));
    }
  }

  function drawForm() {
    const message = h("div");
    const product = select("product", products.map((p) => [p.id, `${p.id} ${p.description}`]), products[0]?.id);
    const gpus = h("input", { name: "gpus", type: "number", min: 1, step: 1, value: 8, required: true });
    const start = h("input", { name: "start", type: "datetime-local", step: 3600, required: true });
    const end = h("input", { name: "end", type: "datetime-local", step: 3600, required: true });
    const mode = select("auto_offer", AUTO_OFFERS, "none");
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
          ["Auto-offer", (l) => autoOfferCell(l, act)],
          ["Collateral", (l) => usd(l.collateral), "num"],
          ["Covers", (l) => h("button", { type: "button", class: "link", dataset: { inventory: l.id }, onclick: () => showListing(l) }, `${l.covers.length} forwards: inventory`)],
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

  function drawReceivables(inventory) {
    fill(
      receivablesBox,
      table(
        [
          ["Forward", (line) => link(line.symbol)],
          ["Status", (line) => line.status],
          ["GPUs sold", (line) => line.sold, "num"],
          ["Owed to you (USD)", (line) => usd(line.receivable), "num"],
        ],
        inventory.forwards.filter((line) => toMicros(line.receivable) > 0n),
        { empty: "Nothing owed yet." },
      ),
      h("p", { class: "muted" }, `Total USD ${usd(inventory.receivable)} in escrow, paid to you day by day as buyers confirm delivery; collateral posted USD ${usd(inventory.collateral)}.`),
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
