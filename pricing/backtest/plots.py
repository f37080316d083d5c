"""The backtest's figures (matplotlib, Agg backend: files, never a window)."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from pricing.series import duration

if TYPE_CHECKING:
    from pricing.backtest.result import BacktestResult


def _ordered(values: pd.Series) -> list[str]:
    return sorted(values.unique(), key=duration)


def bands(result: BacktestResult) -> Figure:
    """Realised window averages against each model's forward and 50% / 90% forecast bands."""
    f = result.forecasts[result.forecasts["error"].eq("")]
    models, horizons = result.config["models"], _ordered(f["horizon"])
    window = _ordered(f["window"])[0]
    fig, axes = plt.subplots(
        len(models),
        len(horizons),
        figsize=(5.5 * len(horizons), 2.6 * len(models)),
        squeeze=False,
        sharex=True,
        sharey=True,
    )
    low, high = float(result.series.min()), float(result.series.max())
    span = high - low or high
    for i, model in enumerate(models):
        for j, horizon in enumerate(horizons):
            ax = axes[i][j]
            rows = f[(f["model"] == model) & (f["horizon"] == horizon) & (f["window"] == window)]
            start = pd.to_datetime(rows["origin"]) + duration(horizon)
            ax.plot(result.series.index, result.series.to_numpy(), color="0.8", lw=0.8, label="price")
            ax.fill_between(start, rows["q05"], rows["q95"], color="C0", alpha=0.2, step="post", label="90%")
            ax.fill_between(start, rows["q25"], rows["q75"], color="C0", alpha=0.35, step="post", label="50%")
            ax.plot(start, rows["forward"], color="C0", lw=1.2, drawstyle="steps-post", label="forward")
            ax.plot(start, rows["realised"], "k.", ms=3, label="realised")
            ax.set_title(f"{model}: horizon {horizon}, window {window}", fontsize=9)
            ax.set_ylim(low - span, high + span)  # a wild band is clipped, not allowed to flatten the rest
            if j == 0:
                ax.set_ylabel("USD / GPU-h")
    axes[0][0].legend(fontsize=7, loc="upper left")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def coverage(result: BacktestResult) -> Figure:
    """Empirical coverage of the 50%, 80%, 90% and 95% intervals against their nominal levels."""
    from pricing.backtest.metrics import INTERVALS

    m = pd.DataFrame(result.metrics)
    fig, ax = plt.subplots(figsize=(max(8.0, 0.9 * len(m)), 3.5))
    width = 0.8 / len(INTERVALS)
    if not m.empty:
        labels = [f"{r.model}\n{r.horizon}/{r.window}" for r in m.itertuples()]
        x = np.arange(len(m))
        for k, (name, (_, _, level)) in enumerate(INTERVALS.items()):
            offset = (k - (len(INTERVALS) - 1) / 2) * width
            ax.bar(x + offset, m[f"coverage{name}"], width, label=f"{name}% interval", color=f"C{k}")
            ax.hlines(
                np.full(x.size, level), x + offset - width / 2, x + offset + width / 2, color="k", lw=1.2
            )
        ax.set_xticks(x, labels, fontsize=7)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("share of windows covered")
    ax.legend(fontsize=7, ncol=len(INTERVALS))
    fig.tight_layout()
    return fig


def pit(result: BacktestResult) -> Figure:
    """Calibration (PIT) histograms: the forecast CDF at the realised value, one panel per model.

    Honest forecasts give a flat histogram; a U shape means intervals too narrow, a hump too wide,
    a slope a biased centre. Each panel pools the horizons, one step line per horizon.
    """
    f = result.forecasts[result.forecasts["error"].eq("") & result.forecasts["pit"].notna()]
    models = result.config["models"]
    columns = min(3, len(models))
    rows_n = -(-len(models) // columns)
    fig, axes = plt.subplots(
        rows_n, columns, figsize=(3.6 * columns, 2.6 * rows_n), squeeze=False, sharey=True
    )
    edges = np.linspace(0.0, 1.0, 11)
    for ax, model in zip(axes.flat, models, strict=False):
        rows = f[f["model"] == model]
        for k, horizon in enumerate(_ordered(rows["horizon"]) if len(rows) else []):
            part = rows[rows["horizon"] == horizon]
            density = pit_density(part, edges)
            ax.stairs(density, edges, color=f"C{k}", lw=1.4, label=f"{horizon} (n={len(part)})")
        ax.axhline(1.0, color="k", ls="--", lw=0.8)
        ax.set_title(model, fontsize=9)
        ax.set_xlabel("PIT")
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(models) :]:
        ax.set_visible(False)
    axes[0][0].set_ylabel("density")
    fig.tight_layout()
    return fig


def pit_density(rows: pd.DataFrame, edges: np.ndarray) -> np.ndarray:
    """Histogram density of the randomised PIT: each outcome's unit mass spread evenly over
    [F(y-), F(y)] (its PIT when it fell off any atom), so a forecast with an atom at a price that did
    not move is judged like any other (Czado, Gneiting and Held, 2009)."""
    if "pit_low" not in rows:
        return np.histogram(rows["pit"].to_numpy(), bins=edges, density=True)[0]
    low, high = rows["pit_low"].to_numpy(float), rows["pit_high"].to_numpy(float)
    width = high - low
    safe = np.where(width > 0.0, width, 1.0)
    mass = np.zeros(edges.size - 1)
    for i, (a, b) in enumerate(itertools.pairwise(edges)):
        share = np.clip(np.minimum(high, b) - np.maximum(low, a), 0.0, None) / safe
        last = i == edges.size - 2
        point = (low >= a) & ((low <= b) if last else (low < b))
        mass[i] = np.sum(np.where(width > 0.0, share, point.astype(float)))
    return mass / max(len(rows), 1) / np.diff(edges)


def errors(result: BacktestResult) -> Figure:
    """RMSE and CRPS by horizon for each model, with the last-price and trailing-mean baselines."""
    m = pd.DataFrame(result.metrics)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    if not m.empty:
        order = {h: i for i, h in enumerate(_ordered(m["horizon"]))}
        m = m.assign(order=m["horizon"].map(order)).sort_values("order")
        for model, rows in m.groupby("model", sort=False):
            left.plot(rows["horizon"], rows["rmse"], "o-", label=model)
            right.plot(rows["horizon"], rows["crps"], "o-", label=model)
        first = m[m["model"] == m["model"].iloc[0]]
        left.plot(first["horizon"], first["rmse_last"], "k--", label="last price")
        left.plot(first["horizon"], first["rmse_trailing_mean"], "k:", label="trailing mean")
    left.set_title("RMSE of the forward")
    right.set_title("CRPS of the forecast distribution")
    for ax in (left, right):
        ax.set_xlabel("horizon")
        ax.set_ylabel("USD / GPU-h")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def cap_pnl(result: BacktestResult) -> Figure:
    """Cumulative P&L of selling the at-the-money Asian cap on each window at the model price."""
    f = result.forecasts[result.forecasts["error"].eq("") & result.forecasts["cap_payoff"].notna()]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    for (model, horizon, window), rows in f.groupby(["model", "horizon", "window"], sort=False):
        pnl = (rows["cap_premium"] - rows["cap_payoff"]).cumsum()
        ax.plot(pd.to_datetime(rows["origin"]), pnl, label=f"{model} {horizon}/{window}")
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_ylabel("cumulative P&L, USD per GPU-h")
    ax.set_title("Seller of the at-the-money Asian cap at the model price")
    ax.legend(fontsize=7)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


FIGURES = {"bands": bands, "coverage": coverage, "pit": pit, "errors": errors, "cap_pnl": cap_pnl}
