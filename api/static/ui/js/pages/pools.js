// Securitised pools (docs/securitization.md): each pool's terms and notes (tranches that trade on the
// exchange's books), and its report -- serviced periods, payments to holders, breached triggers and
// the cash identity; and a deal priced before it is pooled (POST /v1/securitization/price). Reading
// pools and pricing deals need a key (any account).

import { apiKey, get, getAll, problemView } from "../api.js";
import { dealForm } from "../deal-form.js";
import { facts, fill, h, panel, table } from "../dom.js";
import { usd } from "../money.js";
import { when } from "../time.js";
import { signInFirst } from "./portfolio.js";

const link = (symbol) => h("a", { href: `#/instrument/${encodeURIComponent(symbol)}` }, symbol);

export async function render(root, [chosen]) {
  if (!apiKey()) return signInFirst(root, "Pools");
  const pools = await getAll("/v1/pools", {}, { auth: true, max: 500 });
  const listBox = h("div", { id: "pools" });
  const poolBox = h("div", { id: "pool" });
  fill(
    root,
    h("h1", {}, "Pools", h("small", {}, "securitised GPU capacity: notes paid from the pool's remitted cash by its waterfall")),
    h(
      "div",
      { class: "grid" },
      h("div", { class: "span-12" }, panel("Pools", listBox)),
      h("div", { class: "span-12" }, poolBox),
      h("div", { class: "span-12" }, panel("Price a deal", h("div", { class: "grid" }, dealForm().map((part, i) => h("div", { class: i ? "span-7" : "span-5" }, part))))),
    ),
  );
  fill(
    listBox,
    table(
      [
        ["Code", (p) => h("a", { href: `#/pools/${p.id}` }, p.code)],
        ["Name", (p) => p.name],
        ["Product", (p) => p.product],
        ["Window", (p) => `${when(p.start)} → ${when(p.end)}`],
        ["Periods served", (p) => `${p.serviced} / ${p.periods}`, "num"],
        ["Principal paid", (p) => `${p.principal}, ${p.amortisation}`],
        ["Notes", (p) => p.notes.map((n) => n.symbol).join(", ")],
        ["Status", (p) => p.status],
      ],
      pools,
      { empty: "No pools yet: a provider pools its listings with POST /v1/pools or flopex securitize pool create.", rowAttrs: (p) => ({ dataset: { pool: p.id } }) },
    ),
  );
  const pool = pools.find((p) => String(p.id) === chosen) || pools[0];
  if (!pool) return null;
  try {
    const report = await get(`/v1/pools/${pool.id}/report`, {}, true);
    fill(
      poolBox,
      panel(
        `${pool.code}: ${pool.name}`,
        facts([
          ["product", pool.product],
          ["window", `${when(pool.start)} → ${when(pool.end)} (${pool.periods} periods of ${pool.period_months} months)`],
          ["listings", pool.listing_ids.join(", ")],
          ["principal", `paid ${pool.principal} across the notes, amortised ${pool.amortisation}`],
          ["fees", `USD ${usd(pool.fees_fixed)} + ${pool.fees_rate}`],
          ["reserve", `USD ${usd(pool.reserve_initial)} initial, ${usd(pool.reserve_target)} target`],
          ["status", pool.status],
        ]),
        h("h3", {}, "Notes"),
        table(
          [
            ["Note", (n) => link(n.symbol)],
            ["Tranche", (n) => n.tranche],
            ["Seniority", (n) => n.seniority, "num"],
            ["Lots", (n) => n.lots, "num"],
            ["Face per lot", (n) => usd(n.face_per_lot), "num"],
            ["Coupon", (n) => n.coupon, "num"],
            ["Balance", (n) => usd(n.balance), "num"],
            ["Interest paid", (n) => usd(n.interest_paid), "num"],
            ["Principal paid", (n) => usd(n.principal_paid), "num"],
            ["Write-down", (n) => usd(n.writedown), "num"],
            ["Status", (n) => n.status],
          ],
          pool.notes,
          { rowAttrs: (n) => ({ dataset: { note: n.symbol } }) },
        ),
        h("h3", {}, "Serviced periods"),
        table(
          Object.keys(report.periods[0] || { period: 0 }).map((key) => [key.replaceAll("_", " "), (row) => cellOf(row[key]), typeof (report.periods[0] || {})[key] === "string" ? "num" : null]),
          report.periods,
          { empty: "No period serviced yet: the first is serviced when it ends." },
        ),
        h("h3", {}, "Triggers breached"),
        table(
          Object.keys(report.triggers[0] || { trigger: 0 }).map((key) => [key.replaceAll("_", " "), (row) => cellOf(row[key])]),
          report.triggers,
          { empty: "None." },
        ),
        h("h3", {}, "Cash identity"),
        facts(Object.entries(report.conservation).map(([k, v]) => [k.replaceAll("_", " "), cellOf(v)])),
      ),
    );
  } catch (error) {
    fill(poolBox, problemView(error));
  }
  return null;
}

/** A report value as text: money strings as they are, lists and objects as compact JSON. */
function cellOf(value) {
  if (value === null || value === undefined) return "—";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}
