"""One self-contained HTML page (images embedded) that shows a backtest's results."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from pricing.backtest.metrics import INTERVALS
from pricing.htmlreport import figures, key_values, page, table

if TYPE_CHECKING:
    from pricing.backtest.result import BacktestResult

CAPTIONS = {
    "bands": "Realised window averages (dots) against the model forward (line) and its 50% and 90% "
    "forecast bands, by horizon. Dots outside the light band are 90% misses.",
    "coverage": "Share of windows whose realised average fell inside the central 50%, 80%, 90% and 95% "
    "intervals. Bars reaching their black tick (the nominal level) mean honest intervals; below it, "
    "overconfident ones; above it, wasteful ones.",
    "pit": "Calibration (PIT) histograms: the forecast's CDF at the realised average (randomised over an "
    "atom the outcome fell on), per model and "
    "horizon. Flat at the dashed line is calibrated; U-shaped means intervals too narrow, hump-shaped "
    "too wide, tilted a biased centre.",
    "errors": "Errors by horizon. Lines below the dashed (last price) and dotted (trailing mean) "
    "baselines mean the model forecasts better than these rules of thumb.",
    "cap_pnl": "Cumulative P&L of selling an at-the-money Asian cap on each window at the model's "
    "price. A fair model drifts around zero; a steady fall means it underprices risk.",
}

METRIC_COLUMNS = [
    "model",
    "horizon",
    "window",
    "n",
    "bias",
    "mae",
    "rmse",
    "mape",
    "crps",
    "pinball",
    "coverage50",
    "kupiec50_pvalue",
    "coverage80",
    "kupiec80_pvalue",
    "coverage90",
    "kupiec90_pvalue",
    "coverage95",
    "kupiec95_pvalue",
    "skill_rmse_vs_last",
    "skill_rmse_vs_trailing_mean",
    "skill_crps_vs_last",
    "cap_pnl_mean",
    "hedge_variance_reduction",
]


def coverage_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """Closed and randomised coverage per model, horizon and window, with the independent outcomes,
    the binomial bands around nominal and the verdict (:mod:`pricing.backtest.coverage`)."""
    if metrics.empty:
        return metrics
    out = metrics[["model", "horizon", "window", "n", "n_independent"]].copy()
    for name in INTERVALS:
        out[f"closed {name}%"] = metrics[f"coverage{name}"].map(lambda v: f"{v:.2f}")
    for name in INTERVALS:
        low, high = zip(*metrics[f"band{name}"], strict=True)
        out[f"randomised {name}% (band)"] = [
            f"{v:.2f} ({lo:.2f}-{hi:.2f})"
            for v, lo, hi in zip(metrics[f"rcoverage{name}"], low, high, strict=True)
        ]
    out["verdict"] = metrics["verdict"]
    return out


def render(result: BacktestResult, images: dict[str, str]) -> str:
    """The report page; ``images`` maps figure names to base64-encoded PNGs."""
    timings = {k: f"{v:.2f} s" for k, v in result.timings.items()}
    metrics = pd.DataFrame(result.metrics)
    metrics = metrics[[c for c in METRIC_COLUMNS if c in metrics]] if not metrics.empty else metrics
    failures = int(result.forecasts["error"].ne("").sum())
    coverage = coverage_table(pd.DataFrame(result.metrics))
    parts: list[Any] = [
        "<h2>Ranking</h2><p>Models ordered by mean CRPS over horizons (lower is better).</p>",
        table(result.ranking),
        "<h2>Coverage</h2><p>Share of realised window averages inside each central interval; nominal "
        f"levels {', '.join(f'{name}%' for name in INTERVALS)}. <i>closed</i>: inside [q_low, q_high]; "
        "<i>randomised</i>: an outcome on an atom of the forecast (a price that did not move) counts "
        "by the share of the atom inside the interval, the rule a calibrated forecast meets at "
        "nominal. <i>independent</i>: forecasts whose spans from origin to window end do not overlap; "
        "<i>band</i>: where a calibrated forecaster's randomised coverage lands 95% of the time with "
        "that many independent outcomes (binomial). <i>verdict</i>: within ±5 points at every level, "
        "consistent with nominal given the band, or rejects it at some level. The calibration (PIT) "
        "figure below shows the whole forecast distribution.</p>",
        table(coverage),
        "<h2>Metrics by model, horizon and window</h2>",
        "<p>Errors are of the model forward against the realised window average (USD per GPU-hour). "
        "Coverage is the share of windows inside the central interval; the Kupiec p-value tests it "
        "against the nominal level (small: reject; overlapping windows make it indicative). Skill is "
        "1 - model score / baseline score: positive beats the baseline.</p>",
        table(metrics),
        f"<h2>Figures</h2>{figures(images, CAPTIONS)}",
        f"<h2>Run</h2>{key_values(result.config)}<h3>Time</h3>{key_values(timings)}",
        f"<p>{failures} forecast rows failed (fit or simulation errors are kept in forecasts.csv).</p>",
    ]
    return page("flopex backtest", parts)
