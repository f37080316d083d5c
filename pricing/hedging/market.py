"""What the planner may buy and the model its prices follow: a market snapshot at a valuation time.

A snapshot holds, per product, the market model (a ``pricing`` MODEL object, e.g. the exchange's
marks model) and the listed instruments a buyer can take at their asks: forwards (a GPU for every
hour of a window at a price per GPU-hour), Asian options on the window's average price (a call is a
cost cap for the window) and European options on a window forward (exercised at expiry into the
forward at the strike when in the money). Option asks are premiums per GPU-hour covered, as the
exchange quotes them. ``margin`` is the initial margin a long position of one GPU holds (zero for
paid-in-full physical forwards and bought options); ``max_gpus`` is the depth at the ask.

The valuation time is injected with the snapshot; nothing here reads the clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pricing.hedging.errors import Fields, HedgeInputError, number, on_hour
from pricing.models import Model
from pricing.request import RequestError, parse_model

InstrumentKind = Literal["forward", "asian", "european"]
KINDS: tuple[str, ...] = ("forward", "asian", "european")
MAX_PRICE = 1e6
"""Largest accepted price or premium per GPU-hour."""


@dataclass(frozen=True)
class HedgeInstrument:
    """A listed instrument the buyer can take at ``ask`` (USD per GPU-hour)."""

    symbol: str
    product: str
    kind: InstrumentKind
    start: datetime
    end: datetime
    ask: float
    option_kind: Literal["call", "put"] | None = None
    strike: float | None = None
    expiry: datetime | None = None
    margin: float = 0.0
    max_gpus: float | None = None
    fair: float | None = None
    """Fair value per GPU-hour if the caller knows it (the exchange's mark); else the planner's."""

    @property
    def hours(self) -> int:
        return int((self.end - self.start) / timedelta(hours=1))


@dataclass(frozen=True)
class HedgeMarket:
    """Models per product and the listed instruments, as of ``valuation``."""

    valuation: datetime
    models: Mapping[str, Model] = field(hash=False)
    instruments: tuple[HedgeInstrument, ...]

    def model(self, product: str) -> Model:
        return self.models[product]


def parse_market(data: object, path: str = "market", valuation: datetime | None = None) -> HedgeMarket:
    """Validate ``{"valuation", "models": {product: MODEL}, "instruments": [...]}``.

    ``valuation`` (injected, e.g. from the exchange's clock) overrides the snapshot's own.
    """
    f = Fields(data, path)
    stated = f.instant("valuation", None)
    moment = valuation or stated
    if moment is None:
        raise HedgeInputError(f.at("valuation"), "is required (the instant the quotes are valid)")
    raw_models = f.raw("models")
    if not isinstance(raw_models, dict) or not raw_models:
        raise HedgeInputError(f.at("models"), "must map each product to a pricing model")
    models: dict[str, Model] = {}
    for product, spec in raw_models.items():
        try:
            models[product] = parse_model(spec, f"{f.at('models')}.{product}")
        except RequestError as exc:
            raise HedgeInputError(exc.path, exc.reason) from None
    items = f.raw("instruments", [])
    f.done()
    if not isinstance(items, list):
        raise HedgeInputError(f.at("instruments"), "must be a list")
    instruments = tuple(
        parse_instrument(item, f"{f.at('instruments')}[{i}]", models) for i, item in enumerate(items)
    )
    return build_market(moment, models, instruments, f.at("instruments"))


def build_market(
    valuation: datetime,
    models: Mapping[str, Model],
    instruments: tuple[HedgeInstrument, ...],
    path: str = "instruments",
) -> HedgeMarket:
    """A snapshot, refusing instruments whose delivery (or expiry) is not after ``valuation``."""
    seen: set[str] = set()
    for i, item in enumerate(instruments):
        where = f"{path}[{i}]"
        if item.product not in models:
            raise HedgeInputError(f"{where}.product", _unknown(item.product, models))
        if item.start < valuation:
            raise HedgeInputError(
                f"{where}.start",
                f"{item.symbol} delivers from {item.start.isoformat()}, before the valuation time "
                f"{valuation.isoformat()}: a window already under way cannot be bought whole",
            )
        if item.expiry is not None and item.expiry <= valuation:
            raise HedgeInputError(f"{where}.expiry", f"{item.symbol} has expired ({item.expiry.isoformat()})")
        if item.symbol in seen:
            raise HedgeInputError(f"{where}.symbol", f"{item.symbol} is listed twice")
        seen.add(item.symbol)
    return HedgeMarket(valuation, dict(models), instruments)


def _unknown(product: str, models: Mapping[str, Any]) -> str:
    return f"unknown product {product!r}; the market has {', '.join(sorted(models))}"


def parse_instrument(data: object, path: str, models: Mapping[str, Model]) -> HedgeInstrument:
    """One listed instrument (see the module docstring for the fields)."""
    f = Fields(data, path)
    symbol = f.text("symbol")
    product = f.text("product")
    if product not in models:
        raise HedgeInputError(f.at("product"), _unknown(product, models))
    kind = f.raw("kind")
    if kind not in KINDS:
        raise HedgeInputError(f.at("kind"), f"must be one of {', '.join(KINDS)}, got {kind!r}")
    start = on_hour(f.instant("start"), f.at("start"))  # type: ignore[arg-type]
    end = on_hour(f.instant("end"), f.at("end"))  # type: ignore[arg-type]
    if end <= start:
        raise HedgeInputError(f.at("end"), "must be after start")
    ask = number(f.raw("ask"), f.at("ask"), low=0.0 if kind != "forward" else -MAX_PRICE, high=MAX_PRICE)
    margin = number(f.raw("margin", 0.0), f.at("margin"), low=0.0, high=1e12)
    depth = f.raw("max_gpus", None)
    max_gpus = None if depth is None else number(depth, f.at("max_gpus"), low=0.0)
    fair_raw = f.raw("fair", None)
    fair = None if fair_raw is None else number(fair_raw, f.at("fair"), low=-MAX_PRICE, high=MAX_PRICE)
    option_kind = strike = expiry = None
    if kind != "forward":
        option_kind = f.raw("option_kind")
        if option_kind not in ("call", "put"):
            raise HedgeInputError(f.at("option_kind"), f'must be "call" or "put", got {option_kind!r}')
        strike = number(f.raw("strike"), f.at("strike"), low=0.0, high=MAX_PRICE)
        if kind == "european":
            expiry = f.instant("expiry")
            if expiry > start:  # type: ignore[operator]
                raise HedgeInputError(f.at("expiry"), "a European option on a window expires before delivery")
    f.done()
    return HedgeInstrument(
        symbol, product, kind, start, end, ask, option_kind, strike, expiry, margin, max_gpus, fair
    )
