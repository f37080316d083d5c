"""Schwartz (1997) one-factor model: d ln S = kappa (alpha - ln S) dt + vol dW."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Schwartz1F:
    """Log price mean-reverting to ``alpha`` at speed ``kappa``."""

    spot: float
    kappa: float
    alpha: float
    vol: float
