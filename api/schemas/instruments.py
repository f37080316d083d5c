"""Products and instruments (forwards and options on them)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from api.schemas.common import Instant, Money, Price, ProductId, Request, Symbol, price_or_none
from market.records import InstrumentInfo, ProductInfo
from market.units import micros_to_dollars, micros_to_price, ticks_to_price

Ppm = Annotated[int, msgspec.Meta(ge=0, le=100_000, description="parts per million of the notional")]
Count = Annotated[int, msgspec.Meta(ge=0, le=400)]
LotGpus = Annotated[int, msgspec.Meta(ge=1, le=100_000)]
Tick = Annotated[
    str, msgspec.Meta(pattern=r"^0?\.[0-9]{1,6}$|^[1-9][0-9]{0,2}(\.[0-9]{1,6})?$", examples=["0.001"])
]


class ProductCreate(Request):
    """A GPU class such as ``H100``."""

    id: ProductId
    description: Annotated[str, msgspec.Meta(max_length=200)] = ""
    region: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] | None = None
    collateral_per_gpu_day: Money = "0"  # USD a provider posts per GPU-day it lists


class ProductOut(msgspec.Struct):
    """A GPU class: its spec (``description``), region and providers' collateral per GPU-day (USD)."""

    id: str
    description: str
    region: str | None
    collateral_per_gpu_day: str

    @classmethod
    def of(cls, info: ProductInfo) -> ProductOut:
        return cls(
            id=info.id,
            description=info.description,
            region=info.region,
            collateral_per_gpu_day=micros_to_dollars(info.collateral_per_gpu_day_micros),
        )


class ForwardCreate(Request, tag="forward", tag_field="type"):
    """A forward on the ``window`` (day, ISO week or calendar month) that starts at ``start``."""

    product: ProductId
    window: Literal["day", "week", "month"]
    start: Instant
    settlement: Literal["physical", "cash"] = "physical"
    tick: Tick = "0.001"
    lot_gpus: LotGpus = 1
    maker_fee_ppm: Ppm = 0
    taker_fee_ppm: Ppm = 0


class OptionCreate(Request, tag="option", tag_field="type"):
    """An option on a forward: ``european`` (exercised into a cash-settled forward) or ``asian``."""

    underlying: Symbol
    option_kind: Literal["call", "put"]
    strike: Price
    style: Literal["european", "asian"] = "european"
    expiry_business_days: Annotated[int, msgspec.Meta(ge=0, le=60)] = 2


InstrumentCreate = ForwardCreate | OptionCreate


class SeriesCreate(Request):
    """The rolling series of a product: the next months, ISO weeks and days (existing ones skipped)."""

    product: ProductId
    months: Count = 3
    weeks: Count = 6
    days: Count = 14
    settlement: Literal["physical", "cash"] = "physical"
    tick: Tick = "0.001"
    lot_gpus: LotGpus = 1


class InstrumentOut(msgspec.Struct):
    """A tradable instrument; prices are USD per GPU-hour, ``margin_per_lot`` USD."""

    symbol: str
    product: str
    kind: str
    settlement: str
    window_kind: str
    window_start: datetime
    window_end: datetime
    hours: int
    tick: str
    lot_gpus: int
    status: str
    expiry: datetime
    underlying: str | None
    option_kind: str | None
    strike: str | None
    maker_fee_ppm: int
    taker_fee_ppm: int
    margin_per_lot: str
    settle_price: str | None
    face_per_lot: str | None = None
    """A pool note's face per lot now, USD (its price is per 100 of it); None for other kinds."""
    owner: str | None = None
    """Base URL of the ``flopex serve`` process holding the book (PostgreSQL; None while no live
    process holds it, and on SQLite, where the one process serving the file holds every book)."""

    @classmethod
    def of(cls, info: InstrumentInfo, owner: str | None = None) -> InstrumentOut:
        tick = info.tick_micros
        return cls(
            symbol=info.symbol,
            product=info.product,
            kind=info.kind,
            settlement=info.settlement,
            window_kind=info.window_kind,
            window_start=info.window_start,
            window_end=info.window_end,
            hours=info.hours,
            tick=micros_to_price(tick, tick),
            lot_gpus=info.lot_gpus,
            status=info.status,
            expiry=info.expiry,
            underlying=info.underlying,
            option_kind=info.option_kind,
            strike=None if info.strike_ticks is None else ticks_to_price(info.strike_ticks, tick),
            maker_fee_ppm=info.maker_fee_ppm,
            taker_fee_ppm=info.taker_fee_ppm,
            margin_per_lot=micros_to_dollars(info.margin_per_lot_micros),
            settle_price=price_or_none(info.settle_price_micros),
            face_per_lot=None if info.face_micros is None else micros_to_dollars(info.face_micros),
            owner=owner,
        )
