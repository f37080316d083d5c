"""Strip quotes: fair value, Greeks and bid/offer for any window of a product (see market.quotes)."""

from __future__ import annotations

from datetime import datetime

import msgspec

from api.schemas.common import rounded_greeks
from market.quotes import ReplicatingLeg, StripQuote
from market.units import micros_to_dollars, micros_to_price


class LegOut(msgspec.Struct):
    """GPUs of one listed forward in the replication and the prices its book fills them at."""

    symbol: str
    gpus: int
    hours_in_window: int
    fair_value: str
    bid: str
    ask: str
    bid_from_book: bool
    ask_from_book: bool

    @classmethod
    def of(cls, leg: ReplicatingLeg) -> LegOut:
        return cls(
            symbol=leg.symbol,
            gpus=leg.gpus,
            hours_in_window=leg.hours_in_window,
            fair_value=micros_to_price(leg.fair_micros),
            bid=micros_to_price(leg.bid_micros),
            ask=micros_to_price(leg.ask_micros),
            bid_from_book=leg.bid_from_book,
            ask_from_book=leg.ask_from_book,
        )


class StripQuoteOut(msgspec.Struct):
    """A quote for ``gpus`` GPUs over every hour of ``[start, end)``: prices in USD per GPU-hour,
    Greeks per GPU-hour, ``basis_std`` in USD for the whole strip; ``model`` is the pricing MODEL
    object that priced it, ``model_name`` and ``model_source`` (``selected`` or ``fallback``) name
    the product's market model and ``calibrated_at`` the last observation it was fitted on."""

    product: str
    start: datetime
    end: datetime
    gpus: int
    hours: int
    fair_value: str
    bid: str
    ask: str
    greeks: dict[str, float]
    replication: list[LegOut]
    uncovered_gpu_hours: int
    basis_std: str
    model: dict[str, object]
    as_of: datetime
    model_name: str
    model_source: str
    calibrated_at: datetime | None

    @classmethod
    def of(cls, quote: StripQuote) -> StripQuoteOut:
        return cls(
            product=quote.product,
            start=quote.start,
            end=quote.end,
            gpus=quote.gpus,
            hours=quote.hours,
            fair_value=micros_to_price(quote.fair_value_micros),
            bid=micros_to_price(quote.bid_micros),
            ask=micros_to_price(quote.ask_micros),
            greeks=rounded_greeks(quote.greeks),
            replication=[LegOut.of(leg) for leg in quote.replication],
            uncovered_gpu_hours=quote.uncovered_gpu_hours,
            basis_std=micros_to_dollars(quote.basis_std_micros),
            model=quote.model,
            as_of=quote.as_of,
            model_name=quote.model_name,
            model_source=quote.model_source,
            calibrated_at=quote.calibrated_at,
        )
