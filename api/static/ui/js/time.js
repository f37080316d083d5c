// Instants as the exchange states them: UTC, to the minute.

/** "2026-12-01T00:00:00Z" -> "2026-12-01 00:00 UTC" ("—" for null). */
export function when(iso) {
  if (!iso) return "—";
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** An instrument's delivery window, e.g. "month 2026-12-01 → 2027-01-01 (744 h)". */
export function windowLabel(instrument) {
  return `${instrument.window_kind} ${instrument.window_start.slice(0, 10)} → ${instrument.window_end.slice(0, 10)} (${instrument.hours} h)`;
}

/** The instant `days` ago, as RFC 3339 with a Z (whole seconds). */
export function daysAgo(days) {
  return new Date(Date.now() - days * 86_400_000).toISOString().replace(/\.\d+Z$/, "Z");
}
