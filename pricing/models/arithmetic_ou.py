"""Arithmetic (Lucia-Schwartz) model: S = f(t) + X, dX = -kappa X dt + vol dW."""

from __future__ import annotations

from dataclasses import dataclass, field

from pricing.models.seasonality import Seasonality


@dataclass(frozen=True)
class ArithmeticOU:
    """Gaussian spot around a seasonal level; averages of S are exactly Gaussian."""

    x0: float
    kappa: float
    vol: float
    seasonality: Seasonality = field(default_factory=Seasonality)
