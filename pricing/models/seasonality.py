"""The deterministic level f(t) that seasonal models add to their stochastic factors."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray


@dataclass(frozen=True)
class SeasonalTerm:
    """One cosine term A cos(2 pi (t + phase) / period), times in years."""

    amplitude: float
    period: float
    phase: float = 0.0


@dataclass(frozen=True)
class Seasonality:
    """f(t) = mean + trend t + sum of the cosine terms; the zero function by default."""

    mean: float = 0.0
    trend: float = 0.0
    terms: tuple[SeasonalTerm, ...] = field(default_factory=tuple)

    def __call__(self, t: ArrayLike) -> NDArray[np.float64]:
        t = np.asarray(t, dtype=float)
        value = self.mean + self.trend * t
        for term in self.terms:
            value = value + term.amplitude * np.cos(2.0 * np.pi * (t + term.phase) / term.period)
        return value
