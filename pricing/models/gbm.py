"""Geometric Brownian motion with cost of carry: dS/S = carry dt + vol dW."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GBM:
    """Log-normal spot; carry 0 makes S itself a forward price (Black-76)."""

    spot: float
    vol: float
    carry: float = 0.0
