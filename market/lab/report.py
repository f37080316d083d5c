"""Writing a stress run out: metrics.json, the time series as CSV, PNG plots and a self-contained HTML
report (figures embedded, the same look as the backtest's: :mod:`pricing.htmlreport`)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from market.lab.scenario import Scenario
from market.lab.simulation import Run
from pricing import htmlreport

CAPTIONS = {
    "prices": "Each forward's price (mid, else last trade) with the feedback loops on, in the control "
    "(margining and basket flows off, same world) and the fundamental.",
    "liquidity": "Quoted spread (gaps: a side of the book empty) and depth within 2% of the mid, "
    "all forwards.",
    "clearing": "Forced liquidation (lots, cumulative), margin calls in force, the default fund and what "
    "defaults took from it (and past it).",
    "basket": "The basket fund: NAV and unit price per unit, premium (+) or discount (-) to NAV, units "
    "redeemed and created (cumulative).",
}
TABLE_KEYS = (
    "amplification",
    "drawdown",
    "mispricing",
    "forced_lots",
    "fund_used_usd",
    "uncovered_usd",
    "max_discount_bps",
    "empty_book_share",
    "halted_share",
    "peak_margin_usd",
    "redeemed_units",
)


def _hours(run: Run, scenario: Scenario) -> np.ndarray:
    return np.arange(len(run.series["nav"])) / scenario.steps_per_hour


def series_frame(run: Run, control: Run, scenario: Scenario) -> Any:
    """The run's series and the control's prices, one row per step."""
    import pandas as pd

    frame = pd.DataFrame({"hour": _hours(run, scenario)})
    for key, values in run.series.items():
        frame[key] = values
    for s in control.symbols:
        frame[f"control_price:{s}"] = control.series[f"price:{s}"]
    return frame


def plots(run: Run, control: Run, scenario: Scenario) -> dict[str, Any]:
    """The four figures of a run (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hours = _hours(run, scenario)
    shock = run.shock_step / scenario.steps_per_hour
    figures = {}
    fig, axes = plt.subplots(1, len(run.symbols), figsize=(12, 3.4), squeeze=False)
    for ax, s in zip(axes[0], run.symbols, strict=True):
        ax.plot(hours, run.series[f"price:{s}"], label="feedback on", lw=1.2)
        ax.plot(hours, control.series[f"price:{s}"], label="control", lw=1.0)
        ax.plot(hours, run.series[f"value:{s}"], label="fundamental", lw=0.8, ls="--", color="grey")
        ax.axvline(shock, color="red", lw=0.6)
        ax.set_title(s, fontsize=10)
        ax.set_xlabel("hour")
    axes[0][0].set_ylabel("USD / GPU-hour")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    figures["prices"] = fig
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 3.4))
    for s in run.symbols:
        left.plot(hours, run.series[f"spread_bps:{s}"], label=s, lw=1.0)
        right.plot(hours, run.series[f"depth:{s}"], label=s, lw=1.0)
    left.set_ylabel("spread, bps")
    right.set_ylabel("depth within 2%, lots")
    for ax in (left, right):
        ax.axvline(shock, color="red", lw=0.6)
        ax.set_xlabel("hour")
        ax.legend(fontsize=8)
    fig.tight_layout()
    figures["liquidity"] = fig
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(12, 3.4))
    a.plot(hours, run.series["forced_lots"], lw=1.2)
    a.set_ylabel("forced lots (cumulative)")
    b.plot(hours, run.series["calls_in_force"], lw=1.2)
    b.set_ylabel("margin calls in force")
    c.plot(hours, run.series["fund_usd"], label="fund balance", lw=1.2)
    c.plot(hours, run.series["fund_used_usd"], label="used by defaults", lw=1.2)
    c.plot(hours, run.series["uncovered_usd"], label="losses past it", lw=1.2)
    c.set_ylabel("USD")
    c.legend(fontsize=8)
    for ax in (a, b, c):
        ax.axvline(shock, color="red", lw=0.6)
        ax.set_xlabel("hour")
    fig.tight_layout()
    figures["clearing"] = fig
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(12, 3.4))
    a.plot(hours, run.series["nav"], label="NAV", lw=1.2)
    a.plot(hours, run.series["unit_price"], label="unit price", lw=0.8)
    a.set_ylabel("USD per unit")
    a.legend(fontsize=8)
    b.plot(hours, run.series["premium_bps"], lw=1.0)
    b.axhline(0, color="grey", lw=0.5)
    b.set_ylabel("premium / discount, bps")
    c.plot(hours, run.series["redeemed_units"], label="redeemed", lw=1.2)
    c.plot(hours, run.series["created_units"], label="created", lw=1.2)
    c.set_ylabel("units (cumulative)")
    c.legend(fontsize=8)
    for ax in (a, b, c):
        ax.axvline(shock, color="red", lw=0.6)
        ax.set_xlabel("hour")
    fig.tight_layout()
    figures["basket"] = fig
    return figures


def summary_frame(rows: Sequence[dict], keys: Sequence[str] = TABLE_KEYS) -> Any:
    """A table of summarized rows: per label, each key as ``mean`` with its 95% band as ``lo..hi``."""
    import pandas as pd

    table = []
    for row in rows:
        entry: dict[str, Any] = {"": row["label"], "seeds": row["seeds"]}
        for key in keys:
            entry[key] = row[key]
            if row["seeds"] > 1:
                entry[f"{key} 95%"] = f"{row[f'{key}_lo']:.3g}..{row[f'{key}_hi']:.3g}"
        table.append(entry)
    return pd.DataFrame(table)


def save(
    out: str | Path,
    scenario: Scenario,
    seed: int,
    run: Run,
    control: Run,
    metrics: dict[str, float],
    tables: dict[str, Sequence[dict]] | None = None,
) -> Path:
    """Write metrics.json, series.csv, the PNGs and report.html to ``out``; returns the directory.
    ``tables`` (title -> summarized rows) adds the mitigation or sweep tables."""
    directory = Path(out)
    directory.mkdir(parents=True, exist_ok=True)
    tables = dict(tables or {})
    document = {
        "scenario": scenario.name,
        "description": scenario.description,
        "seed": seed,
        "metrics": {k: _json_number(v) for k, v in metrics.items()},
        "tables": {
            title: [{k: _json_number(v) for k, v in r.items()} for r in rows]
            for title, rows in tables.items()
        },
    }
    (directory / "metrics.json").write_text(json.dumps(document, indent=2) + "\n")
    series_frame(run, control, scenario).to_csv(directory / "series.csv", index=False)
    images = {
        name: htmlreport.save_png(fig, directory / f"{name}.png")
        for name, fig in plots(run, control, scenario).items()
    }
    body = [
        f"<p>{scenario.description}. Seed {seed}; {scenario.hours} hours in steps of "
        f"{scenario.step_minutes} minutes, the shock at hour {scenario.shock.at_hour}.</p>",
        "<h2>Metrics</h2>",
        htmlreport.key_values({k: f"{v:.4g}" if isinstance(v, float) else v for k, v in metrics.items()}),
    ]
    for title, rows in tables.items():
        body += [f"<h2>{title}</h2>", htmlreport.table(summary_frame(rows))]
    body += ["<h2>Figures</h2>", htmlreport.figures(images, CAPTIONS)]
    (directory / "report.html").write_text(htmlreport.page(f"flopex stress: {scenario.name}", body))
    return directory


def _json_number(value: Any) -> Any:
    """NaN and infinities as null (JSON has neither)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
