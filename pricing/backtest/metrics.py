"""From forecast rows to the backtest's metrics and the ranking of models."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pricing.backtest.coverage import expected_coverage, independent_outcomes, nominal_band, overall, verdict
from pricing.backtest.scores import kupiec
from pricing.series import duration

INTERVALS = {
    "50": ("q25", "q75", 0.5),
    "80": ("q10", "q90", 0.8),
    "90": ("q05", "q95", 0.9),
    "95": ("q2.5", "q97.5", 0.95),
}
"""Central forecast intervals scored for coverage: name -> (lower, upper quantile column, level)."""


def _rmse(errors: pd.Series) -> float:
    return float(np.sqrt(np.mean(errors**2)))


def summarise(forecasts: pd.DataFrame) -> list[dict[str, Any]]:
    """Metrics of each (model, horizon, window) over the origins with a realised value.

    Point errors use the model forward (the price a quant would quote); baselines are the last
    price and the trailing mean of the training window. Skill = 1 - model score / baseline score
    (positive: better than the baseline); CRPS skill compares with the baseline's MAE, which is
    the CRPS of a point forecast. The cap is an at-the-money Asian call on the window average,
    sold at the model's Monte Carlo price; the hedge compares the variance of the bill locked in
    with the forward (F) with that of the unhedged bill (the realised average A).
    """
    scored = forecasts[forecasts["error"].eq("") & forecasts["realised"].notna()]
    out = []
    for (model, horizon, window), group in scored.groupby(["model", "horizon", "window"], sort=False):
        a, f = group["realised"], group["forward"]
        err = f - a
        n = len(group)
        entry: dict[str, Any] = {
            "model": model,
            "horizon": horizon,
            "window": window,
            "n": n,
            "bias": float(err.mean()),
            "mae": float(err.abs().mean()),
            "rmse": _rmse(err),
            "mape": float((err.abs() / a).mean()),
            "crps": float(group["crps"].mean()),
            "pinball": float(group["pinball"].mean()),
        }
        tie = 1e-9 * a.abs()
        independent = independent_outcomes(group["origin"], duration(horizon) + duration(window))
        entry["n_independent"] = independent
        verdicts = []
        for name, (low, high, level) in INTERVALS.items():
            misses = int(((a < group[low] - tie) | (a > group[high] + tie)).sum())
            entry[f"coverage{name}"] = 1.0 - misses / n
            entry[f"kupiec{name}_pvalue"] = kupiec(misses, n, level)
            if "pit_low" in group:
                randomised = float(np.mean(expected_coverage(group["pit_low"], group["pit_high"], level)))
            else:
                randomised = entry[f"coverage{name}"]
            entry[f"rcoverage{name}"] = randomised
            entry[f"band{name}"] = list(nominal_band(independent, level))
            verdicts.append(verdict(randomised, level, independent))
            entry[f"verdict{name}"] = verdicts[-1]
        entry["verdict"] = overall(verdicts)
        for baseline in ("last", "trailing_mean"):
            base_err = group[baseline] - a
            entry[f"rmse_{baseline}"] = _rmse(base_err)
            entry[f"skill_rmse_vs_{baseline}"] = 1.0 - entry["rmse"] / max(entry[f"rmse_{baseline}"], 1e-300)
            base_mae = max(float(base_err.abs().mean()), 1e-300)
            entry[f"skill_crps_vs_{baseline}"] = 1.0 - entry["crps"] / base_mae
        pnl = group["cap_premium"] - group["cap_payoff"]
        entry.update(
            {
                "cap_pnl_mean": float(pnl.mean()),
                "cap_pnl_std": float(pnl.std(ddof=1)) if n > 1 else 0.0,
                "cap_premium_mean": float(group["cap_premium"].mean()),
                "cap_payoff_mean": float(group["cap_payoff"].mean()),
            }
        )
        var_a = float(a.var(ddof=1)) if n > 1 else float("nan")
        entry["hedge_variance_reduction"] = 1.0 - float(f.var(ddof=1)) / var_a if var_a > 0 else float("nan")
        out.append(entry)
    return out


RANKING_COLUMNS = [
    "crps",
    "pinball",
    "rmse",
    "mae",
    *(f"coverage{name}" for name in INTERVALS),
    *(f"rcoverage{name}" for name in INTERVALS),
    "skill_crps_vs_last",
    "cap_pnl_mean",
]


def rank(metrics: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per model, averaged over horizons and windows, best (lowest mean CRPS) first."""
    if not metrics:
        return pd.DataFrame(columns=["rank", "model", *RANKING_COLUMNS])
    frame = pd.DataFrame(metrics)
    table = frame.groupby("model", sort=False)[RANKING_COLUMNS].mean()
    table = table.sort_values("crps").reset_index()
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table
