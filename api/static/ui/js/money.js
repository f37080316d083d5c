// Exact money: the API sends decimal strings; sums are done here in integer micro-dollars (BigInt),
// as the market does, so a hold shown before sending is the hold the exchange will take.

const MICRO = 1_000_000n;

/** "2.450" -> 2450000n; null for anything that is not a plain non-negative or negative decimal. */
export function toMicros(text) {
  if (typeof text !== "string") return null;
  const match = /^(-?)(\d+)(?:\.(\d{1,6}))?$/.exec(text.trim());
  if (!match) return null;
  const [, sign, whole, frac = ""] = match;
  const value = BigInt(whole) * MICRO + BigInt(frac.padEnd(6, "0"));
  return sign ? -value : value;
}

/** 2450000n -> "2.450000" (six decimals, as the API writes money). */
export function fromMicros(micros) {
  const negative = micros < 0n;
  const magnitude = negative ? -micros : micros;
  const text = `${magnitude / MICRO}.${(magnitude % MICRO).toString().padStart(6, "0")}`;
  return negative ? `-${text}` : text;
}

/** Money for people: "12,345.67" (cents, thousands grouped; the exact value is in the title). */
export function usd(value) {
  const micros = typeof value === "bigint" ? value : toMicros(value);
  if (micros === null) return value ?? "—";
  const cents = (micros < 0n ? micros - 5_000n : micros + 5_000n) / 10_000n;
  const negative = cents < 0n;
  const magnitude = negative ? -cents : cents;
  const whole = (magnitude / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${negative ? "-" : ""}${whole}.${(magnitude % 100n).toString().padStart(2, "0")}`;
}

/** A price string trimmed of trailing zeros beyond the tick's decimals ("2.547007" stays, "2.450000" -> "2.450"). */
export function price(text, tick = "0.001") {
  if (text === null || text === undefined) return "—";
  const decimals = (tick.split(".")[1] || "").length;
  const [whole, frac = ""] = String(text).split(".");
  const kept = frac.replace(/0+$/, "").padEnd(decimals, "0");
  return kept ? `${whole}.${kept}` : whole;
}

/** Whether `text` is a whole number of `tick` (both decimal strings). */
export function onTick(text, tick) {
  const value = toMicros(text);
  const step = toMicros(tick);
  return value !== null && step !== null && step > 0n && value % step === 0n;
}

/** A float for charts only (never for sums). */
export const num = (text) => (text === null || text === undefined ? null : Number(text));
