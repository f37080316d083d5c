"""Capacity listings of providers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from api.schemas.common import Instant, Price, ProductId, Region, Request, price_or_none
from market.records import InventoryLine, InventoryView, ListingInfo
from market.units import micros_to_dollars, micros_to_price

Gpus = Annotated[int, msgspec.Meta(ge=1, le=10_000_000)]


class ListingCreate(Request):
    """``gpus`` GPUs of ``product`` for every hour of ``[start, end)`` (whole UTC hours).

    ``auto_offer``: ``reserve`` places asks at ``reserve_price``; ``fair_value`` at the pricing
    core's fair value plus ``spread`` (never below the reserve price). ``region`` and ``spec`` must
    match the product's; listing posts the product's collateral per GPU-day from your cash.
    """

    product: ProductId
    gpus: Gpus
    start: Instant
    end: Instant
    region: Region | None = None
    spec: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    reserve_price: Price | None = None
    auto_offer: Literal["none", "reserve", "fair_value"] = "none"
    spread: Price = "0"


class ListingReduce(Request):
    """The new, lower number of GPUs."""

    gpus: Annotated[int, msgspec.Meta(ge=0, le=10_000_000)]


class AutoOffer(Request):
    """How a listing offers itself, replacing its settings: ``none`` (its asks are cancelled),
    ``reserve`` (asks at ``reserve_price``) or ``fair_value`` (at the pricing core's fair value plus
    ``spread``, never below ``reserve_price`` when one is given)."""

    auto_offer: Literal["none", "reserve", "fair_value"]
    reserve_price: Price | None = None
    spread: Price = "0"


class ListingOut(msgspec.Struct):
    """A listing and the forwards whose inventory it backs."""

    id: int
    product: str
    region: str | None
    gpus: int
    start: datetime
    end: datetime
    reserve_price: str | None
    auto_offer: str
    spread: str
    covers: list[str]
    created_at: datetime
    spec: str | None
    collateral: str

    @classmethod
    def of(cls, info: ListingInfo) -> ListingOut:
        return cls(
            id=info.id,
            product=info.product,
            region=info.region,
            gpus=info.gpus,
            start=info.window_start,
            end=info.window_end,
            reserve_price=price_or_none(info.reserve_price_micros),
            auto_offer=info.auto_offer,
            spread=micros_to_price(info.spread_micros),
            covers=list(info.covers),
            created_at=info.created_at,
            spec=info.spec,
            collateral=micros_to_dollars(info.collateral_micros),
        )


class InventoryLineOut(msgspec.Struct):
    """Your GPUs in one physical forward and the escrow owed to you there (USD)."""

    symbol: str
    status: str
    listed: int
    sold: int
    offered: int
    free: int
    receivable: str

    @classmethod
    def of(cls, line: InventoryLine) -> InventoryLineOut:
        return cls(
            symbol=line.symbol,
            status=line.status,
            listed=line.listed_gpus,
            sold=line.sold_gpus,
            offered=line.offered_gpus,
            free=line.free_gpus,
            receivable=micros_to_dollars(line.receivable_micros),
        )


class InventoryOut(msgspec.Struct):
    """Listed, sold, offered and free GPUs per forward for one listing (or all, ``listing_id`` null),
    the escrow owed to you (``receivable``, paid day by day as delivery is confirmed) and the
    collateral posted (USD)."""

    listing_id: int | None
    forwards: list[InventoryLineOut]
    receivable: str
    collateral: str

    @classmethod
    def of(cls, view: InventoryView) -> InventoryOut:
        return cls(
            listing_id=view.listing_id,
            forwards=[InventoryLineOut.of(line) for line in view.forwards],
            receivable=micros_to_dollars(view.receivable_micros),
            collateral=micros_to_dollars(view.collateral_micros),
        )
