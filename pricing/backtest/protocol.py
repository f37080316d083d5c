"""What a backtest needs from a model: ``fit`` a history, then ``forward`` and ``simulate`` from it.

Every model of :mod:`pricing.models` is already a :class:`Fitted`; :class:`CalibratedModel` turns a
model name into a :class:`ForecastModel` through :func:`pricing.calibrate`. A custom model is any
picklable object with a ``name`` and a ``fit`` method returning something with ``forward`` and
``simulate`` (see docs/backtesting.md); it then appears in the same report as the built-in ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray


@runtime_checkable
class Fitted(Protocol):
    """A model valued at the last observation of the history it was fitted to (t = 0 there)."""

    def forward(self, t: ArrayLike) -> NDArray[np.float64]:
        """Expected spot at times ``t`` (years, ACT/365F) after the valuation instant."""

    def simulate(self, times: ArrayLike, n_paths: int, rng: np.random.Generator) -> NDArray[np.float64]:
        """Spot paths of shape (n_paths, len(times)) at ``times`` (years, increasing, >= 0)."""


@runtime_checkable
class ForecastModel(Protocol):
    """A model the backtest fits at each origin."""

    name: str

    def fit(self, history: pd.Series, previous: Fitted | None = None) -> Fitted:
        """Fit to ``history`` (a price series ending at the origin).

        ``previous`` is the model fitted at an earlier origin when the schedule keeps parameters
        between refits: keep its parameters and move it to the end of ``history``, or refit.
        """


@dataclass(frozen=True)
class CalibratedModel:
    """A model of the pricing core, calibrated by maximum likelihood (:func:`pricing.calibrate`)."""

    model: str
    options: Mapping[str, Any] = field(default_factory=dict)
    label: str | None = None

    @property
    def name(self) -> str:
        return self.label or self.model

    def fit(self, history: pd.Series, previous: Fitted | None = None) -> Fitted:
        from pricing.calibration import calibrate
        from pricing.calibration.anchor import reanchor

        if isinstance(previous, AnchoredModel):
            return AnchoredModel(reanchor(previous.model, previous.as_of, history), history.index[-1])
        return AnchoredModel.of(calibrate(history, self.model, **{"intervals": False, **self.options}))


@dataclass(frozen=True)
class AnchoredModel:
    """A calibrated pricing model with the instant it is valued at (so it can be re-anchored)."""

    model: Any
    as_of: pd.Timestamp

    @classmethod
    def of(cls, calibration: Any) -> AnchoredModel:
        return cls(calibration.model, calibration.as_of)

    def forward(self, t: ArrayLike) -> NDArray[np.float64]:
        return self.model.forward(t)

    def simulate(self, times: ArrayLike, n_paths: int, rng: np.random.Generator) -> NDArray[np.float64]:
        return self.model.simulate(times, n_paths, rng)
