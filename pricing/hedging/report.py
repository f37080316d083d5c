"""HTML reports (images embedded) for a hedge plan and for the real-history effectiveness study.

The page frame, tables and PNG embedding are the shared ones of ``pricing.htmlreport``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from pricing.htmlreport import figures, key_values, page, save_png, table

if TYPE_CHECKING:
    from pricing.hedging.effectiveness import Effectiveness
    from pricing.hedging.plan import HedgePlan

PLAN_CAPTIONS = {
    "forecast": "Usage forecast per product and day: median, mean and the 10-90% band (GPU-hours).",
    "hedge": "The hedge by window: GPU-hours locked by forwards and capped by calls on each day, "
    "against the expected usage (line).",
    "bills": "The total compute bill over independent evaluation scenarios, unhedged and hedged (USD).",
}
STUDY_CAPTIONS = {
    "bills": "Bill per origin, unhedged and hedged (USD): the hedged bill follows the price fixed at the "
    "origin, the unhedged one the prices that came.",
    "savings": "Cumulative saving (unhedged minus hedged bill) per product. Rising: the hedge bought below "
    "the prices that came; falling: above them (the spread is a steady small loss).",
    "surprise": "Realised minus expected bill at each origin: the hedge narrows the surprise to the "
    "usage uncertainty the forwards cannot remove.",
}


def _days(plan: HedgePlan) -> list:
    return [pd.Timestamp(d) for d in plan.days]


def forecast_figure(plan: HedgePlan) -> Figure:
    products = list(plan.day_usage)
    fig, axes = plt.subplots(len(products), 1, figsize=(9, 2.6 * len(products)), squeeze=False, sharex=True)
    for ax, product in zip(axes[:, 0], products, strict=True):
        q10, q50, q90, mean = plan.day_usage[product]
        days = _days(plan)
        ax.fill_between(days, q10, q90, step="mid", alpha=0.3, color="C0", label="10-90%")
        ax.step(days, q50, where="mid", color="C0", label="median")
        ax.step(days, mean, where="mid", color="k", lw=0.8, ls="--", label="mean")
        ax.set_ylabel(f"{product} GPU-h/day")
        ax.legend(fontsize=7, loc="upper left")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def hedge_figure(plan: HedgePlan) -> Figure:
    products = list(plan.day_usage)
    fig, axes = plt.subplots(len(products), 1, figsize=(9, 2.6 * len(products)), squeeze=False, sharex=True)
    for ax, product in zip(axes[:, 0], products, strict=True):
        rows = [w for w in plan.windows if w.product == product]
        days = [pd.Timestamp(w.day) for w in rows]
        locked = np.array([w.locked for w in rows])
        capped = np.array([w.capped for w in rows])
        ax.bar(days, locked, width=0.9, align="edge", color="C2", label="locked (forwards)")
        ax.bar(days, capped, width=0.9, bottom=locked, align="edge", color="C1", label="capped (calls)")
        expected = [w.expected for w in rows]
        edges = [*days, days[-1] + pd.Timedelta(days=1)]
        ax.step(edges, [*expected, expected[-1]], where="post", color="k", label="expected usage")
        ax.set_ylabel(f"{product} GPU-h/day")
        ax.legend(fontsize=7, loc="lower left")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def _histograms(unhedged: np.ndarray, hedged: np.ndarray, bins: int, xlabel: str) -> tuple[Figure, plt.Axes]:
    """Unhedged and hedged samples overlaid on common bins."""
    fig, ax = plt.subplots(figsize=(9, 3.5))
    both = np.concatenate([unhedged, hedged])
    edges = np.linspace(both.min(), both.max(), bins)
    ax.hist(unhedged, bins=edges, alpha=0.5, color="C3", label="unhedged")
    ax.hist(hedged, bins=edges, alpha=0.6, color="C0", label="hedged")
    ax.set_xlabel(xlabel)
    return fig, ax


def bills_figure(plan: HedgePlan) -> Figure:
    fig, ax = _histograms(plan.bills["unhedged"], plan.bills["hedged"], 60, "total compute bill, USD")
    for name, colour in (("unhedged", "C3"), ("hedged", "C0")):
        ax.axvline(getattr(plan, name).cvar, color=colour, ls="--", lw=1, label=f"{name} CVaR")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


PLAN_FIGURES = {"forecast": forecast_figure, "hedge": hedge_figure, "bills": bills_figure}


def _save_figures(subject: Any, makers: dict[str, Callable[[Any], Figure]], out: Path) -> dict[str, Path]:
    """Draw each figure of ``subject`` and save it as ``out/<kind>.png``."""
    return {kind: save_png(make(subject), out / f"{kind}.png") for kind, make in makers.items()}


def save_plan(plan: HedgePlan, out: Path) -> Path:
    """Write plan.json, the figures and report.html into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "plan.json").write_text(json.dumps(plan.to_dict(), indent=2))
    images = _save_figures(plan, PLAN_FIGURES, out)
    positions = pd.DataFrame(
        [
            {
                "symbol": p.symbol,
                "kind": p.kind,
                "gpus": p.gpus,
                "ask": p.ask,
                "fair": p.fair,
                "spread_usd": p.spread,
                "premium_usd": p.premium,
                "margin_usd": p.margin,
            }
            for p in plan.positions
        ]
    )
    distributions = pd.DataFrame(
        [{"bill": name, **vars(getattr(plan, name))} for name in ("unhedged", "hedged")]
    )
    windows = pd.DataFrame(
        [
            {"product": w.product, "day": f"{w.day:%Y-%m-%d}", "ratio": w.ratio, "why": w.explanation}
            for w in plan.windows
        ]
    )
    body = [
        f"<p>Valued at {plan.valuation.isoformat()}; objective {plan.settings.objective}"
        f" (alpha {plan.settings.alpha}); variance reduction {plan.variance_reduction:.1%}"
        " out of sample.</p>",
        "<h2>Positions</h2>",
        table(positions),
        "<h2>Cost of the hedge (USD)</h2>",
        key_values(vars(plan.cost)),
        "<h2>Compute bill (USD)</h2>",
        table(distributions),
        f"<h2>Figures</h2>{figures(images, PLAN_CAPTIONS)}",
        "<h2>Hedge ratio by window</h2>",
        table(windows),
        "<h2>Run</h2>",
        key_values(
            {
                **vars(plan.settings),
                "solver": plan.solver,
                **{f"{k} s": f"{v:.2f}" for k, v in plan.timings.items()},
            }
        ),
    ]
    (out / "report.html").write_text(page("flopex hedge plan", body))
    return out


def study_bills(result: Effectiveness) -> Figure:
    products = list(result.prices)
    fig, axes = plt.subplots(len(products), 1, figsize=(9, 2.4 * len(products)), squeeze=False, sharex=True)
    for ax, product in zip(axes[:, 0], products, strict=True):
        rows = result.outcomes[result.outcomes["product"] == product]
        ax.plot(rows["origin"], rows["unhedged"], "o-", color="C3", ms=3, label="unhedged")
        ax.plot(rows["origin"], rows["hedged"], "o-", color="C0", ms=3, label="hedged")
        ax.set_ylabel(f"{product} USD")
        ax.legend(fontsize=7)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def study_savings(result: Effectiveness) -> Figure:
    fig, ax = plt.subplots(figsize=(9, 3.5))
    for product, rows in result.outcomes.groupby("product", sort=True):
        ax.plot(rows["origin"], rows["saving"].cumsum(), label=product)
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_ylabel("cumulative saving, USD")
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def study_surprise(result: Effectiveness) -> Figure:
    o = result.outcomes
    unhedged, hedged = o["unhedged"] - o["expected_unhedged"], o["hedged"] - o["expected_hedged"]
    fig, ax = _histograms(unhedged.to_numpy(), hedged.to_numpy(), 30, "realised minus expected bill, USD")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


STUDY_FIGURES = {"bills": study_bills, "savings": study_savings, "surprise": study_surprise}


def save_effectiveness(result: Effectiveness, out: Path) -> Path:
    """Write outcomes.csv, summary.json, the figures and report.html into ``out``."""
    from pricing.hedging.effectiveness import summary_json

    out.mkdir(parents=True, exist_ok=True)
    result.outcomes.to_csv(out / "outcomes.csv", index=False)
    (out / "summary.json").write_text(summary_json(result))
    images = _save_figures(result, STUDY_FIGURES, out)
    body = [
        "<p>The hedge planner on rolling origins over real GPU rental prices: at each origin the market "
        "model is fitted to the trailing prices only, day forwards are listed at fair value plus the "
        "half-spread, the plan is made, and the realised prices settle it (docs/hedging.md).</p>",
        "<h2>Effectiveness</h2>",
        table(result.summary),
        "<p>saving: unhedged minus hedged bill (positive: the hedge saved money). Surprise: realised "
        "minus the bill expected at the origin; variance reduction = 1 - Var(hedged surprise) / "
        "Var(unhedged surprise).</p>",
        f"<h2>Figures</h2>{figures(images, STUDY_CAPTIONS)}",
        "<h2>Run</h2>",
        key_values({**vars(result.settings), **{f"{k} s": f"{v:.1f}" for k, v in result.timings.items()}}),
    ]
    (out / "report.html").write_text(page("flopex hedge effectiveness", body))
    return out
