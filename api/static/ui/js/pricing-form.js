// The pricing request of docs/pricing.md as a form: every field is checked as it is typed against the
// bounds the pricing core enforces (pricing/request.py), and the request is rebuilt on each change.
// The server remains the judge: its problem names the field it refuses (instrument.strike, ...).

/** A numeric field: [key, label, default, check(value) -> reason | null]. */
const positive = (v) => (v > 0 ? null : "must be > 0");
const any = () => null;
const between = (lo, hi, openLo = false) => (v) => ((openLo ? v > lo : v >= lo) && v <= hi ? null : `must be in ${openLo ? "(" : "["}${lo}, ${hi}]`);
const nonNegative = (v) => (v >= 0 ? null : "must be >= 0");
const whole = (lo, hi) => (v) => (Number.isInteger(v) && v >= lo && v <= hi ? null : `must be a whole number in [${lo}, ${hi}]`);

export const MODELS = {
  gbm: [["spot", "spot", 2.4, positive], ["vol", "volatility", 0.5, between(0, 5, true)], ["carry", "carry", 0, any]],
  schwartz1f: [["spot", "spot", 2.4, positive], ["kappa", "kappa (reversion)", 2, positive], ["alpha", "alpha (long-run log level)", 0.8, any], ["vol", "volatility", 0.6, positive]],
  schwartz_smith: [
    ["chi0", "chi0", 0.15, any], ["xi0", "xi0", 0.75, any], ["kappa", "kappa", 3, positive], ["sigma_chi", "sigma chi", 0.8, positive],
    ["lambda_chi", "lambda chi", 0, any], ["mu_xi", "mu xi", -0.25, any], ["sigma_xi", "sigma xi", 0.2, nonNegative], ["rho", "rho", 0.3, between(-1, 1)],
  ],
  arithmetic_ou: [["x0", "x0", 0, any], ["kappa", "kappa", 4, positive], ["vol", "volatility", 0.8, positive], ["season_mean", "seasonality mean", 2.4, any], ["season_trend", "seasonality trend (per year)", -0.3, any]],
  jump_ou: [
    ["x0", "x0", 0, any], ["kappa", "kappa", 4, positive], ["vol", "volatility", 0.6, positive], ["y0", "y0", 0, any], ["jump_rate", "jump rate (per year)", 4, nonNegative],
    ["jump_mean", "jump mean", 0.2, between(0, 1, true)], ["jump_reversion", "jump reversion", 20, positive], ["season_mean", "seasonality mean (log)", 0.85, any], ["season_trend", "seasonality trend (per year)", -0.2, any],
  ],
};

const schedule = [["fix_start", "fixings from (years)", 0.0849, nonNegative], ["fix_end", "fixings to (years)", 0.1667, positive], ["fix_count", "number of fixings", 31, whole(1, 20000)]];
const kindStrike = (strike) => [["kind", "kind", "call", ["call", "put"]], ["strike", "strike", strike, any]];

export const INSTRUMENTS = {
  european: [...kindStrike(2.5), ["expiry", "expiry (years)", 0.25, positive], ["forward_at", "on the forward delivered at (years; empty: the spot)", "", null]],
  asian: [...kindStrike(2.3), ["average", "average", "arithmetic", ["arithmetic", "geometric"]], ...schedule],
  cap: [...kindStrike(2.5), ...schedule],
  forward: [["strike", "strike", 0, any], ...schedule],
  bermudan: [...kindStrike(2.5), ["exercise", "exercise times (years, comma separated)", "0.25, 0.5, 0.75, 1", null]],
  swing: [...kindStrike(2.4), ["exercise", "exercise times (years, comma separated)", "0.1, 0.2, 0.3, 0.4, 0.5, 0.6", null], ["max_rights", "max rights", 3, whole(1, 10000)], ["min_rights", "min rights", 0, whole(0, 10000)], ["payoff", "payoff", "forward", ["forward", "vanilla"]]],
};

export const GENERAL = [
  ["rate", "rate", 0.045, between(-1, 1)],
  ["method", "method", "auto", ["auto", "analytic", "mc", "quantlib"]],
  ["paths", "Monte Carlo paths", 65536, whole(2, 5_000_000)],
  ["seed", "seed", 7, whole(0, 2 ** 32 - 1)],
  ["sampler", "sampler", "sobol", ["sobol", "pseudo"]],
  ["greeks", "Greeks", true, "bool"],
];

/** Parse a number typed into a field: finite JSON number or a reason. */
export function number(text) {
  if (typeof text === "number") return { value: text };
  const trimmed = String(text).trim();
  if (!/^-?(\d+\.?\d*|\.\d+)(e-?\d+)?$/i.test(trimmed)) return { reason: "must be a number" };
  const value = Number(trimmed);
  return Number.isFinite(value) ? { value } : { reason: "must be a finite number" };
}

/**
 * Build the request from `values` (field key -> typed text, for the chosen model and instrument).
 * Returns {request, errors: [[path, reason]]}.
 */
export function buildRequest(modelType, instrumentType, values) {
  const errors = [];
  const read = (prefix, [key, , , check]) => {
    const raw = values[`${prefix}.${key}`];
    if (Array.isArray(check) || check === "bool") return raw;
    if (check === null) return raw;
    const { value, reason } = number(raw);
    const problem = reason || check(value);
    if (problem) errors.push([`${prefix}.${key}`, problem]);
    return value;
  };
  const model = { type: modelType };
  for (const spec of MODELS[modelType]) {
    const value = read("model", spec);
    if (spec[0].startsWith("season_")) continue;
    model[spec[0]] = value;
  }
  if (modelType === "arithmetic_ou" || modelType === "jump_ou") {
    model.seasonality = { mean: read("model", ["season_mean", "", 0, any]), trend: read("model", ["season_trend", "", 0, any]), terms: [] };
  }
  const instrument = { type: instrumentType };
  for (const spec of INSTRUMENTS[instrumentType]) {
    const [key] = spec;
    const value = read("instrument", spec);
    if (key.startsWith("fix_")) continue;
    if (key === "forward_at") {
      if (String(value).trim()) {
        const { value: at, reason } = number(value);
        if (reason || at <= 0) errors.push(["instrument.underlying", reason || "must be > 0"]);
        else instrument.underlying = { forward: at };
      }
      continue;
    }
    if (key === "exercise") {
      const times = String(value).split(",").map((t) => number(t));
      const bad = times.findIndex((t) => t.reason || t.value <= 0);
      if (bad >= 0) errors.push([`instrument.exercise[${bad}]`, "each time must be a number > 0"]);
      instrument.exercise = times.map((t) => t.value);
      continue;
    }
    instrument[key] = value;
  }
  if (INSTRUMENTS[instrumentType].some(([key]) => key === "fix_start")) {
    const start = read("instrument", schedule[0]);
    const end = read("instrument", schedule[1]);
    const count = read("instrument", schedule[2]);
    if (start !== undefined && end !== undefined && end <= start) errors.push(["instrument.fixings.end", "must be after the start"]);
    instrument.fixings = { start, end, count };
  }
  if (instrumentType === "swing" && instrument.min_rights > instrument.max_rights) errors.push(["instrument.min_rights", "must not exceed max rights"]);
  const request = { model, instrument };
  const general = Object.fromEntries(GENERAL.map((spec) => [spec[0], read("request", spec)]));
  request.rate = general.rate;
  request.method = general.method;
  request.mc = { paths: general.paths, seed: general.seed, sampler: general.sampler };
  request.greeks = Boolean(general.greeks);
  return { request, errors };
}
