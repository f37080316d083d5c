// Physical deliveries (docs/market.md): the provider attaches how the buyer reaches the GPUs; the
// buyer confirms each UTC day (its escrow is paid to the provider) or disputes it with a reason. Days
// are shown from the first to today's (a day can be confirmed from its start); the rest are counted.

import { call, problemView } from "./api.js";
import { fill, h, table } from "./dom.js";
import { usd } from "./money.js";
import { now, when } from "./time.js";

const link = (symbol) => h("a", { href: `#/instrument/${encodeURIComponent(symbol)}` }, symbol);

/**
 * A table of `deliveries` as seen by `accountId`; `reload()` is called after each action.
 * Buyers get confirm/dispute on each pending day, providers an access-handle field.
 */
export function deliveriesView(deliveries, accountId, reload) {
  const message = h("div", { class: "deliveries-message" });
  const act = async (work) => {
    fill(message);
    try {
      await work();
      await reload();
    } catch (error) {
      fill(message, problemView(error));
    }
  };
  const path = (d) => `/v1/deliveries/${d.id}`;
  const today = new Date(now()).toISOString().slice(0, 10);
  const days = (d) => {
    const buyer = d.buyer_id === accountId;
    const counts = {};
    for (const day of d.days) counts[day.status] = (counts[day.status] || 0) + 1;
    return h(
      "div",
      { class: "days" },
      h("div", { class: "muted" }, Object.entries(counts).map(([status, n]) => `${n} ${status}`).join(" · ")),
      d.days.filter((day) => day.day <= today).map((day) => {
        const reason = h("input", { name: "reason", placeholder: "reason", style: "width:9em", "aria-label": "dispute reason" });
        const actions =
          buyer && day.status === "pending"
            ? [
                h("button", { type: "button", class: "small", dataset: { confirm: `${d.id}/${day.day}` }, onclick: () => act(() => call("POST", `${path(d)}/days/${day.day}/confirm`, { auth: true, idempotent: true })) }, "Confirm"),
                reason,
                h("button", { type: "button", class: "small", dataset: { dispute: `${d.id}/${day.day}` }, onclick: () => act(() => call("POST", `${path(d)}/days/${day.day}/dispute`, { body: { reason: reason.value.trim() }, auth: true, idempotent: true })) }, "Dispute"),
              ]
            : [];
        return h("div", { class: "row", dataset: { day: day.day } }, h("code", {}, day.day), h("span", { class: `badge ${day.status === "pending" ? "warn" : ""}` }, day.status), `USD ${usd(day.escrow)}`, day.reason ? h("span", { class: "muted" }, day.reason) : null, actions);
      }),
    );
  };
  const access = (d) => {
    if (d.provider_id !== accountId) return d.access_handle ? h("code", {}, d.access_handle) : h("span", { class: "muted" }, "not attached yet");
    const handle = h("input", { name: "handle", value: d.access_handle ?? "", placeholder: "ssh user@host / console URL", style: "width:14em", "aria-label": "access handle" });
    return h("span", { class: "row" }, handle, h("button", { type: "button", class: "small", dataset: { attach: d.id }, onclick: () => act(() => call("POST", `${path(d)}/access`, { body: { handle: handle.value.trim() }, auth: true, idempotent: true })) }, "Attach"));
  };
  return [
    message,
    table(
      [
        ["#", (d) => d.id, "num"],
        ["Forward", (d) => link(d.symbol)],
        ["As", (d) => (d.buyer_id === accountId ? "buyer" : "provider")],
        ["GPUs", (d) => d.gpus, "num"],
        ["Window", (d) => `${when(d.window_start)} → ${when(d.window_end)}`],
        ["Escrow", (d) => usd(d.escrow), "num"],
        ["Access", access],
        ["Alert", (d) => (d.alert ? h("span", { class: "badge warn" }, d.alert) : "")],
        ["Days", days],
      ],
      deliveries,
      { empty: "No deliveries: they start when a bought or sold physical forward's window begins.", rowAttrs: (d) => ({ dataset: { delivery: d.id } }) },
    ),
  ];
}
