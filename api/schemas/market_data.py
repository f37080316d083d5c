"""Public market data: books, trades, tickers, quotes and candles."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from api.schemas.common import Instant, Price, Request, rounded_greeks
from market.records import BookInfo, BookLevel, FixingInfo, MarkInfo, TradeInfo
from market.units import micros_to_price, nearest_ticks, ticks_to_price

Level = tuple[str, int]
"""``[price, quantity]``: a price level with its displayed quantity."""


def levels(book_levels: tuple[BookLevel, ...], tick_micros: int) -> list[Level]:
    """Book levels as ``[price, quantity]`` pairs (icebergs show only their displayed part)."""
    return [(ticks_to_price(level.price_ticks, tick_micros), level.visible) for level in book_levels]


class BookOut(msgspec.Struct):
    """Aggregated price levels, best first; ``sequence`` is the engine sequence the snapshot reflects."""

    symbol: str
    sequence: int
    bids: list[Level]
    asks: list[Level]

    @classmethod
    def of(cls, book: BookInfo) -> BookOut:
        return cls(
            symbol=book.symbol,
            sequence=book.seq,
            bids=levels(book.bids, book.tick_micros),
            asks=levels(book.asks, book.tick_micros),
        )


class TradeOut(msgspec.Struct):
    """A public trade; ``taker_side`` is the side of the order that took liquidity."""

    id: int
    symbol: str
    price: str
    quantity: int
    taker_side: str
    created_at: datetime

    @classmethod
    def of(cls, trade: TradeInfo) -> TradeOut:
        return cls(
            id=trade.id,
            symbol=trade.symbol,
            price=ticks_to_price(trade.price_ticks, trade.tick_micros),
            quantity=trade.qty,
            taker_side=trade.taker_side,
            created_at=trade.created_at,
        )


class TickerOut(msgspec.Struct):
    """Best bid and ask, last trade price, lots traded in the last 24 hours and the pricing core's mark
    (null while the product has no index fixings)."""

    symbol: str
    best_bid: str | None
    best_ask: str | None
    last: str | None
    volume_24h: int
    mark: str | None


def mark_price(micros: int, tick_micros: int) -> str:
    """A model price (fair value, forward, mark) rounded to the instrument's nearest tick."""
    return ticks_to_price(nearest_ticks(micros, tick_micros), tick_micros)


class QuoteOut(msgspec.Struct):
    """The pricing core's fair value and forward (USD per GPU-hour, rounded to the instrument's tick),
    Greeks (six significant digits), the model used and when; ``stale`` when the index it rests on
    (last fixing at ``index_as_of``) is older than the product allows.
    ``model_name`` and ``model_source`` (``selected`` by out-of-sample score, or the ``fallback``
    rule) name the product's market model, ``calibrated_at`` the last observation it was fitted on."""

    symbol: str
    fair_value: str
    forward: str
    greeks: dict[str, float] | None
    model: dict[str, object]
    as_of: datetime
    index_as_of: datetime | None
    stale: bool
    model_name: str
    model_source: str
    calibrated_at: datetime | None

    @classmethod
    def of(cls, mark: MarkInfo, tick_micros: int) -> QuoteOut:
        return cls(
            symbol=mark.symbol,
            fair_value=mark_price(mark.fair_value_micros, tick_micros),
            forward=mark_price(mark.forward_micros, tick_micros),
            greeks=rounded_greeks(mark.greeks),
            model=mark.model,
            as_of=mark.as_of,
            index_as_of=mark.index_as_of,
            stale=mark.stale,
            model_name=mark.model_name,
            model_source=mark.model_source,
            calibrated_at=mark.calibrated_at,
        )


class CandleOut(msgspec.Struct):
    """Open, high, low, close and volume of the trades in ``[start, start + interval)``; ``start`` is
    a UTC boundary of the interval (a whole minute, hour, four hours from midnight, or midnight)."""

    start: datetime
    open: str
    high: str
    low: str
    close: str
    volume: int


class FixingIn(msgspec.Struct, forbid_unknown_fields=True):
    """One index observation: USD per GPU-hour at an instant."""

    at: Instant
    price: Price


class FixingsCreate(Request):
    """Index fixings to store: repeats are skipped, a new price for a stored instant and source is a
    correction (a new revision); fixings dated after the exchange clock (5 minutes' grace) are refused."""

    fixings: Annotated[list[FixingIn], msgspec.Meta(min_length=1, max_length=1000)]
    source: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] = "ingest"


class FixingsAdded(msgspec.Struct):
    """How many of the posted fixings were new instants, and how many corrected a stored one (each
    correction is a new revision; the replaced one is kept, superseded)."""

    added: int
    revised: int


class FixingOut(msgspec.Struct):
    """An index observation; ``revision`` counts its corrections, ``superseded_at`` is set on a
    revision a later one replaced."""

    product: str
    at: datetime
    price: str
    source: str
    revision: int
    superseded_at: datetime | None

    @classmethod
    def of(cls, fixing: FixingInfo) -> FixingOut:
        return cls(
            product=fixing.product,
            at=fixing.at,
            price=micros_to_price(fixing.price_micros),
            source=fixing.source,
            revision=fixing.revision,
            superseded_at=fixing.superseded_at,
        )
