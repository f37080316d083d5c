"""The outcome of a backtest and its files: metrics.json, forecasts.csv, PNG plots, report.html."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


@dataclass
class BacktestResult:
    """Forecast rows (one per origin, model, horizon and window), metrics, ranking and timings.

    ``timings`` holds CPU seconds of calibration, simulation and scoring summed over origins (in
    whichever process ran them, so contention from other programs does not inflate them) and the
    run's ``wall`` time.
    """

    config: dict[str, Any]
    series: pd.Series
    forecasts: pd.DataFrame
    metrics: list[dict[str, Any]]
    ranking: pd.DataFrame
    timings: dict[str, float]

    def plot(self, kind: str = "bands") -> Figure:
        """One of the report's figures: ``bands``, ``coverage``, ``errors`` or ``cap_pnl``."""
        from pricing.backtest.plots import FIGURES

        if kind not in FIGURES:
            raise ValueError(f"unknown plot {kind!r}: use one of {', '.join(FIGURES)}")
        return FIGURES[kind](self)

    def summary(self) -> dict[str, Any]:
        """Everything in metrics.json: the run's settings, metrics per model/horizon/window, ranking."""
        return _clean(
            {
                "config": self.config,
                "timings": self.timings,
                "metrics": self.metrics,
                "ranking": self.ranking.to_dict(orient="records"),
            }
        )

    def save(self, out: str | Path) -> Path:
        """Write metrics.json, forecasts.csv, one PNG per figure and report.html into ``out``."""
        from pricing.backtest.plots import FIGURES
        from pricing.backtest.report import render
        from pricing.htmlreport import save_png

        directory = Path(out)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "metrics.json").write_text(json.dumps(self.summary(), indent=2))
        forecasts = self.forecasts.copy()
        forecasts["origin"] = pd.to_datetime(forecasts["origin"]).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        forecasts.to_csv(directory / "forecasts.csv", index=False)
        images = {}
        for kind in FIGURES:
            images[kind] = save_png(self.plot(kind), directory / f"{kind}.png")
        (directory / "report.html").write_text(render(self, images))
        return directory
