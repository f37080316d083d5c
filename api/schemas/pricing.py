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
    """A fair value with its standard error and 95% interval (null for exact methods), how it was
    obtained, and the Greeks with their standard errors (null for exact methods)."""

    value: float
    std_error: float | None
    interval: list[float] | None
    method: str
    paths: int | None
    forward: float | None
    greeks: Greeks | None
    greeks_std_error: Greeks | None
    elapsed_ms: float
