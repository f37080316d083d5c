// Instants as the exchange states them: UTC, to the minute; "now" is the exchange clock's, which a
// staging or demo server may start at another instant (FLOPEX_CLOCK_START), read from GET /v1/time.

let offset = 0; // exchange clock minus this browser's clock, in milliseconds

/** Learn the exchange clock (GET /v1/time); the browser's own clock stands in if that fails. */
export async function syncClock() {
  try {
    const asked = Date.now();
    const response = await fetch("/v1/time", { headers: { Accept: "application/json" } });
    const { epoch_ms: serverMs } = await response.json();
    offset = serverMs - (asked + Date.now()) / 2;
  } catch {
    offset = 0;
  }
}

/** Milliseconds since the epoch on the exchange clock. */
export const now = () => Date.now() + offset;

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
  return new Date(now() - days * 86_400_000).toISOString().replace(/\.\d+Z$/, "Z");
}
