"""Strip quotes: fair value, Greeks and a bid/offer for any window [start, end) of a product.

A buyer asks "what would 64 H100s from Tuesday 09:00 to Friday 18:00 cost?" -- a window that no listed
instrument may match. The quote:

- **fair value and Greeks** per GPU-hour from the pricing core on the product's market model (the
  model behind the exchange's marks, taken from the mark of a listed instrument so that whatever
  model the marks use, the quote uses too), over the window's hourly fixings;
- **replication**: the listed forwards that best replicate the strip, chosen by the hedge planner
  (:mod:`pricing.hedging`, minimum variance of the strip's cost less the forwards' payoffs, with the
  strip's GPUs as a certain usage), in whole GPUs;
- **bid/offer** per GPU-hour: the replicating forwards at the prices their books would fill the
  needed lots (walking the levels), and the GPU-hours no listed forward covers at fair value -/+
  ``UNCOVERED_HALF_SPREAD``; a forward whose book side cannot fill the lots is priced the same way
  for what is missing and flagged (``bid_from_book`` / ``ask_from_book`` false);
- **residual basis**: GPU-hours left uncovered, and the standard deviation (USD) of the strip's cost
  minus the replication's payoff under the market model.

Only the ``Exchange`` facade's public methods are used (``now``, ``products``, ``instruments``,
``mark``, ``book``); nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from market.errors import InvalidRequestError, MarketError, NoMarkError, NotFoundError

if TYPE_CHECKING:
    from market.records import BookLevel, InstrumentInfo
    from market.service import Exchange

UNCOVERED_HALF_SPREAD = 0.01
"""Half-spread (relative to fair value) of GPU-hours no listed forward covers, and of empty book sides."""
MAX_HOURS = 24 * 366
MAX_GPUS = 1_000_000
REPLICATION_SCENARIOS = 400
HOUR = timedelta(hours=1)


class QuoteUnavailableError(MarketError):
    """The quote cannot be computed accurately (the replication did not solve): refused, not guessed."""

    code = "quote_unavailable"
    status = 503


@dataclass(frozen=True)
class ReplicatingLeg:
    """GPUs of one listed forward in the replication, and what its book would fill them at."""

    symbol: str
    gpus: int
    hours_in_window: int
    fair_micros: int
    bid_micros: int
    ask_micros: int
    bid_from_book: bool
    ask_from_book: bool


@dataclass(frozen=True)
class StripQuote:
    """A quote for ``gpus`` GPUs over every hour of ``[start, end)`` (prices per GPU-hour, micro-dollars)."""

    product: str
    start: datetime
    end: datetime
    gpus: int
    hours: int
    fair_value_micros: int
    bid_micros: int
    ask_micros: int
    greeks: dict[str, float]
    replication: tuple[ReplicatingLeg, ...]
    uncovered_gpu_hours: int
    basis_std_micros: int
    """Standard deviation of (strip cost - replication payoff) in micro-dollars (whole strip)."""
    model: dict[str, object]
    as_of: datetime
    model_name: str
    """The product's market model (``market.models``) and whether it was ``selected`` or the fallback."""
    model_source: str
    calibrated_at: datetime | None
    """The last observation the model's parameters were fitted on (None for the fallback rule)."""


def strip_quote(exchange: Exchange, product: str, start: datetime, end: datetime, gpus: int) -> StripQuote:
    """The quote of ``gpus`` GPUs of ``product`` for every hour of ``[start, end)`` (see the module)."""
    import pricing
    from pricing.calendar import fixing_times

    now = exchange.now()
    start, end = _utc_hour(start, "start"), _utc_hour(end, "end")
    hours = _check(exchange, product, start, end, gpus, now)
    listed = exchange.instruments(product=product, status="open")
    forwards = [i for i in listed if i.kind == "forward"]
    source = forwards[0] if forwards else (listed[0] if listed else None)
    if source is None:
        raise NoMarkError(
            f"{product} has no open instrument whose mark gives the market model", field="product"
        )
    source_mark = exchange.mark(source.symbol, greeks=False)
    model = source_mark.model
    grid = fixing_times(now, start, end, "hourly" if hours <= 10_000 else "daily")
    result = pricing.price(
        {"model": model, "instrument": {"type": "forward", "fixings": list(grid)}, "greeks": True}
    )
    fair = result["value"]
    legs, uncovered, basis = _replicate(exchange, product, model, now, start, end, gpus, forwards)
    covered = [(leg.hours_in_window * leg.gpus, leg) for leg in legs]
    bid = sum(n * leg.bid_micros for n, leg in covered) + uncovered * fair * 1e6 * (1 - UNCOVERED_HALF_SPREAD)
    ask = sum(n * leg.ask_micros for n, leg in covered) + uncovered * fair * 1e6 * (1 + UNCOVERED_HALF_SPREAD)
    weight = sum(n for n, _ in covered) + uncovered
    return StripQuote(
        product=product,
        start=start,
        end=end,
        gpus=gpus,
        hours=hours,
        fair_value_micros=round(fair * 1e6),
        bid_micros=int(bid // weight),
        ask_micros=-int(-ask // weight),
        greeks=result["greeks"],
        replication=legs,
        uncovered_gpu_hours=uncovered,
        basis_std_micros=round(basis * 1e6),
        model=model,
        as_of=now,
        model_name=source_mark.model_name,
        model_source=source_mark.model_source,
        calibrated_at=source_mark.calibrated_at,
    )


def _utc_hour(moment: datetime, name: str) -> datetime:
    """``moment`` in UTC if it is a whole UTC hour (an offset such as +05:30 can hide a half hour)."""
    if moment.tzinfo is None:
        raise InvalidRequestError(f"{name} needs a UTC offset", field=name)
    moment = moment.astimezone(UTC)
    if moment.minute or moment.second or moment.microsecond:
        raise InvalidRequestError(f"{name} must be a whole UTC hour, got {moment.isoformat()}", field=name)
    return moment


def _check(exchange: Exchange, product: str, start: datetime, end: datetime, gpus: int, now: datetime) -> int:
    if product not in {p.id for p in exchange.products()}:
        raise NotFoundError(f"no product {product!r}", field="product")
    if end <= start:
        raise InvalidRequestError("end must be after start", field="end")
    if start < now:
        raise InvalidRequestError(
            f"the window starts at {start.isoformat()}, before now ({now.isoformat()}): "
            "quote hours still to come",
            field="start",
        )
    hours = int((end - start) / HOUR)
    if hours > MAX_HOURS:
        raise InvalidRequestError(f"at most {MAX_HOURS} hours (a year) per quote, got {hours}", field="end")
    if isinstance(gpus, bool) or not isinstance(gpus, int) or not 1 <= gpus <= MAX_GPUS:
        raise InvalidRequestError(
            f"gpus must be a whole number in [1, {MAX_GPUS}], got {gpus!r}", field="gpus"
        )
    return hours


def _replicate(
    exchange: Exchange,
    product: str,
    model: dict,
    now: datetime,
    start: datetime,
    end: datetime,
    gpus: int,
    forwards: list[InstrumentInfo],
) -> tuple[tuple[ReplicatingLeg, ...], int, float]:
    """The planner's replication of the strip by listed forwards overlapping it: legs, uncovered
    GPU-hours, and the standard deviation of the residual (USD)."""
    from pricing.hedging import (
        HedgeInstrument,
        PlanningError,
        PlanSettings,
        build_market,
        parse_forecast,
        plan,
    )
    from pricing.request import parse_model

    candidates = [
        f for f in forwards if f.window_start < end and f.window_end > start and f.window_start >= now
    ]
    marks = {f.symbol: exchange.mark(f.symbol, greeks=False).fair_value_micros for f in candidates}
    books = {f.symbol: exchange.book(f.symbol) for f in candidates}
    instruments = tuple(
        HedgeInstrument(
            f.symbol,
            f.product,
            "forward",
            f.window_start,
            f.window_end,
            marks[f.symbol] / 1e6,
            fair=marks[f.symbol] / 1e6,
        )
        for f in candidates
    )
    usage = {
        "resolution": "hour",
        "usage": [
            {"product": product, "start": (start + k * HOUR).isoformat(), "usage": float(gpus)}
            for k in range(int((end - start) / HOUR))
        ],
    }
    try:
        result = plan(
            parse_forecast(usage),
            build_market(now, {product: parse_model(model, "model")}, instruments),
            PlanSettings(scenarios=REPLICATION_SCENARIOS, evaluation_scenarios=REPLICATION_SCENARIOS),
        )
    except PlanningError as exc:
        raise QuoteUnavailableError(f"the replication could not be solved accurately: {exc}") from None
    by_symbol = {f.symbol: f for f in candidates}
    legs = []
    covered = [0] * int((end - start) / HOUR)
    for position in result.positions:
        inst = by_symbol[position.symbol]
        lots = -(-position.gpus // inst.lot_gpus)
        first = max(inst.window_start, start)
        last = min(inst.window_end, end)
        for k in range(int((first - start) / HOUR), int((last - start) / HOUR)):
            covered[k] += position.gpus
        fair = marks[position.symbol]
        book = books[position.symbol]
        bid, bid_full = _fill(book.bids, lots, book.tick_micros, fair * (1 - UNCOVERED_HALF_SPREAD))
        ask, ask_full = _fill(book.asks, lots, book.tick_micros, fair * (1 + UNCOVERED_HALF_SPREAD))
        legs.append(
            ReplicatingLeg(
                position.symbol,
                position.gpus,
                int((last - first) / HOUR),
                fair,
                bid,
                ask,
                bid_full,
                ask_full,
            )
        )
    uncovered = sum(max(gpus - c, 0) for c in covered)
    return tuple(legs), uncovered, result.hedged.std


def _fill(
    levels: tuple[BookLevel, ...], lots: int, tick_micros: int, fallback_micros: float
) -> tuple[int, bool]:
    """Volume-weighted price (micro-dollars) of ``lots`` taken from book ``levels``, best first; what the
    book cannot fill is priced at ``fallback_micros``. Returns (price, filled entirely by the book)."""
    left, cost = lots, 0.0
    for level in levels:
        take = min(left, level.visible)
        cost += take * level.price_ticks * tick_micros
        left -= take
        if left == 0:
            break
    cost += left * fallback_micros
    return round(cost / lots), left == 0
