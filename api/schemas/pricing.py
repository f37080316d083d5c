"""The result of ``POST /v1/price``; the request is that of ``pricing.price`` (docs/pricing.md)."""

from __future__ import annotations

import msgspec


class Greeks(msgspec.Struct):
    """Sensitivities: delta and gamma to the short-term factor, vega to the main volatility, theta per
    year, rho to the rate."""

    delta: float
    gamma: float
    vega: float
    theta: float
    rho: float


class PriceResult(msgspec.Struct):
    """A fair value with its standard error (null for exact methods) and how it was obtained."""

    value: float
    std_error: float | None
    method: str
    paths: int | None
    forward: float | None
    greeks: Greeks | None
    elapsed_ms: float
