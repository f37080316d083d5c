"""Choose the pricing model of a product by out-of-sample score, and calibrate it.

``select_model(series)`` backtests every priceable model on the product's price history (rolling
origins, each model fitted on the trailing ``train`` window and scored on what happened next), ranks
them by mean CRPS over the horizons, and calibrates the winner on the latest ``train`` window, the
same way the backtest fitted it. The :class:`Selection` carries the chosen model's pricing request
MODEL object, its score, coverage and the whole ranking, so that a market can say which model priced
a quote, how well it forecast and when it was calibrated. The model-free ``bootstrap`` forecaster is
not a candidate: a mark or a margin needs a model the pricing engine can value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pricing.backtest import run
from pricing.backtest.metrics import INTERVALS
from pricing.backtest.runner import BACKTEST_OPTIONS
from pricing.calibration import Calibration, calibrate
from pricing.request import RequestError, parse_model
from pricing.series import duration

PRICEABLE = ("schwartz1f", "arithmetic_ou", "jump_ou", "gbm", "schwartz_smith")
"""Candidate models: every spot model of the pricing engine."""


@dataclass(frozen=True)
class Candidate:
    """One model's out-of-sample record: mean CRPS and pinball loss over the horizons, coverage of its
    central intervals by level, and the number of scored forecasts (0 when every fit failed)."""

    model: str
    crps: float
    pinball: float
    coverage: dict[str, float]
    n: int


@dataclass(frozen=True)
class Selection:
    """The chosen model, calibrated at ``as_of`` (the last observation), with its evidence."""

    model: str
    calibration: Calibration
    score: Candidate
    ranking: tuple[Candidate, ...]
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def params(self) -> dict[str, Any]:
        """The pricing request's MODEL object, valued at ``as_of``."""
        return self.calibration.params

    @property
    def as_of(self) -> pd.Timestamp:
        return self.calibration.as_of

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (non-finite numbers become null)."""

        def clean(value: Any) -> Any:
            if isinstance(value, float) and not math.isfinite(value):
                return None
            if isinstance(value, dict):
                return {k: clean(v) for k, v in value.items()}
            return value

        def candidate(c: Candidate) -> dict[str, Any]:
            fields = {"model": c.model, "crps": c.crps, "pinball": c.pinball, "coverage": c.coverage}
            return clean({**fields, "n": c.n})

        return {
            "model": self.model,
            "params": self.params,
            "calibrated_at": self.as_of.isoformat(),
            "score": candidate(self.score),
            "ranking": [candidate(c) for c in self.ranking],
            "calibration": self.calibration.as_dict(),
            "settings": self.settings,
        }


def select_model(
    series: pd.Series,
    models: Sequence[str] = PRICEABLE,
    *,
    horizons: Sequence[str] = ("1d", "7d"),
    train: str = "7d",
    step: str = "1d",
    n_paths: int = 500,
    seed: int = 0,
    workers: int = 1,
    intervals: bool = True,
) -> Selection:
    """Rank ``models`` by out-of-sample mean CRPS on ``series`` and calibrate the best one.

    A model whose fits all failed ranks last; ties keep the order of ``models``. The chosen model is
    the best-ranked one whose calibration on the latest ``train`` window the pricing engine accepts
    (a fit outside the request's bounds, e.g. a speed above ``MAX_SPEED``, passes to the next; the
    settings' ``passed_over`` says why). ``intervals`` adds profile-likelihood intervals to that
    calibration (slow for jump_ou and schwartz_smith; a market refreshing hourly turns it off).
    Raises ``ValueError`` (with the backtest's reason) when the series is too short for one origin,
    or when no candidate could be fitted, scored and priced.
    """
    unknown = [m for m in models if m not in PRICEABLE]
    if unknown:
        raise ValueError(f"not a priceable model: {unknown[0]!r} (use {', '.join(PRICEABLE)})")
    settings: dict[str, Any] = {
        "horizons": list(horizons),
        "windows": ["1d"],
        "train": train,
        "step": step,
        "n_paths": n_paths,
        "seed": seed,
    }
    result = run(series, list(models), **settings, workers=workers, progress=False)
    by_model: dict[str, list[dict[str, Any]]] = {}
    for entry in result.metrics:
        by_model.setdefault(entry["model"], []).append(entry)
    ranking = sorted(
        (_candidate(name, by_model.get(name, [])) for name in models),
        key=lambda c: (c.n == 0, c.crps if math.isfinite(c.crps) else math.inf),
    )
    history = series.loc[series.index[-1] - duration(train) :]
    passed_over: dict[str, str] = {}
    for best in (c for c in ranking if c.n > 0):
        calibration = calibrate(
            history, best.model, intervals=intervals, **BACKTEST_OPTIONS.get(best.model, {})
        )
        try:
            parse_model(calibration.params, "model")
        except RequestError as exc:
            passed_over[best.model] = str(exc)
            continue
        break
    else:
        reasons = "; ".join(f"{m}: {why}" for m, why in passed_over.items())
        raise ValueError(
            "no model could be fitted, scored and priced on this series"
            + (f" ({reasons})" if reasons else "")
        )
    settings["passed_over"] = passed_over
    settings.update({k: result.config[k] for k in ("origins", "series_start", "series_end", "series_step")})
    return Selection(best.model, calibration, best, tuple(ranking), settings)


def _candidate(model: str, entries: list[dict[str, Any]]) -> Candidate:
    if not entries:
        return Candidate(model, math.nan, math.nan, {}, 0)
    frame = pd.DataFrame(entries)
    coverage = {name: float(frame[f"coverage{name}"].mean()) for name in INTERVALS}
    crps, pinball = float(frame["crps"].mean()), float(frame["pinball"].mean())
    return Candidate(model, crps, pinball, coverage, int(frame["n"].sum()))
