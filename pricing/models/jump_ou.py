"""Exponential OU with mean-reverting jumps: ln S = f(t) + X + Y.

dX = -kappa X dt + vol dW; dY = -jump_reversion Y dt + J dN, with N Poisson of intensity
``jump_rate`` and J exponential with mean ``jump_mean`` (Kluge; QuantLib's ExtOUWithJumpsProcess).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pricing.models.seasonality import Seasonality


@dataclass(frozen=True)
class JumpOU:
    """Log spot = seasonal level + OU diffusion + mean-reverting upward jumps (scarcity spikes)."""

    x0: float
    kappa: float
    vol: float
    y0: float
    jump_rate: float
    jump_mean: float
    jump_reversion: float
    seasonality: Seasonality = field(default_factory=Seasonality)
