"""Public market data of one instrument: book, trades, ticker, quote and candles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from litestar import Controller, get
from litestar.params import FromQuery, QueryParameter

from api.context import Ctx, call
from api.errors import ApiError
from api.openapi import problems
from api.pagination import (
    HISTORY,
    CursorParam,
    LimitParam,
    Page,
    Paging,
    decode_cursor,
    owned_page,
    page_of,
)
from api.schemas.common import Instant, Symbol
from api.schemas.market_data import BookOut, CandleOut, FixingOut, QuoteOut, TickerOut, TradeOut
from api.tickers import ticker_of
from market.instruments import canonical_symbol
from market.records import TradeInfo
from market.units import ticks_to_price

MAX_DEPTH = 1000


class MarketDataController(Controller):
    """No key needed. ``symbol`` may spell an option's strike any equivalent way (``C1.3``,
    ``C1.300``); responses name the instrument canonically (``C1.30``)."""

    path = "/v1/instruments/{symbol:str}"
    tags = ("market data",)

    @get("/book", summary="Order book", responses=problems(404))
    async def book(
        self,
        ctx: Ctx,
        symbol: Symbol,
        depth: Annotated[int, QueryParameter(ge=1, le=MAX_DEPTH, description="levels per side")] = 50,
    ) -> BookOut:
        """Aggregated displayed quantity per price level, best first, with the book's sequence number."""
        return BookOut.of(await call(ctx.exchange.book, canonical_symbol(symbol), depth))

    @get("/trades", summary="Trades", responses=problems(404), dependencies=HISTORY)
    async def trades(self, ctx: Ctx, symbol: Symbol, history: Paging) -> Page[TradeOut]:
        """Public trades in ``[start, end)``, oldest first (``order=desc``: newest first)."""
        fetch, h = ctx.exchange.trades, history
        return await owned_page(
            fetch, canonical_symbol(symbol), h.cursor, h.limit, lambda t: t.id, TradeOut.of, span=h.span
        )

    @get("/ticker", summary="Ticker", responses=problems(404))
    async def ticker(self, ctx: Ctx, symbol: Symbol) -> TickerOut:
        """Best bid and ask, last price, 24-hour volume and the mark (rounded to the tick)."""
        return await ticker_of(ctx, canonical_symbol(symbol))

    @get("/quote", summary="Fair value and Greeks", responses=problems(404))
    async def quote(self, ctx: Ctx, symbol: Symbol) -> QuoteOut:
        """The pricing core's fair value (USD per GPU-hour, to the tick), Greeks (six significant
        digits) and model; ``no_mark`` without fixings."""
        symbol = canonical_symbol(symbol)
        tick = await ctx.tick_micros(symbol)
        return QuoteOut.of(await ctx.mark(symbol, greeks=True), tick)

    @get("/settlement-fixings", summary="Fixings a cash settlement used", responses=problems(404))
    async def settlement_fixings(self, ctx: Ctx, symbol: Symbol) -> list[FixingOut]:
        """The exact fixing revisions the instrument was cash-settled against (empty until it settles);
        corrections made afterwards are new revisions and change neither this list nor the settlement."""
        return [FixingOut.of(f) for f in await call(ctx.exchange.settled_on, canonical_symbol(symbol))]

    @get("/candles", summary="Candles", responses=problems(404))
    async def candles(
        self,
        ctx: Ctx,
        symbol: Symbol,
        interval: FromQuery[Literal["1m", "5m", "15m", "1h", "4h", "1d"]] = "1h",
        start: FromQuery[Instant | None] = None,
        end: FromQuery[Instant | None] = None,
        cursor: CursorParam = None,
        limit: LimitParam = 100,
    ) -> Page[CandleOut]:
        """OHLC and volume of the trades per UTC interval, oldest first. Intervals start on their UTC
        boundary (``1h``: the whole hour; ``4h``: 00, 04, ... 20; ``1d``: midnight): ``start`` is
        rounded down and ``end`` up to one, so the interval holding ``end`` (default: now, the candle
        still forming) is included; intervals without trades are omitted; the window spans at most
        1000 intervals (default: the last 100)."""
        step = INTERVALS[interval]
        end = boundary(end or ctx.exchange.now(), step, up=True)
        start = boundary(start, step) if start is not None else end - DEFAULT_CANDLES * step
        if end <= start or (end - start) / step > MAX_CANDLES:
            raise ApiError(
                "invalid_window", f"need start < end and at most {MAX_CANDLES} intervals", field="start"
            )
        after = decode_cursor(cursor, int)
        if after is not None:
            start = max(start, EPOCH + timedelta(seconds=after) + step)
        trades = (
            await call(ctx.exchange.trades_between, canonical_symbol(symbol), start, end)
            if start < end
            else []
        )
        candles = candles_of(trades, step)
        return page_of(candles[: limit + 1], limit, key=_epoch_seconds, render=lambda candle: candle)


INTERVALS = {
    "1m": timedelta(minutes=1),
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "4h": timedelta(hours=4),
    "1d": timedelta(days=1),
}
MAX_CANDLES = 1000
DEFAULT_CANDLES = 100
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def boundary(moment: datetime, step: timedelta, *, up: bool = False) -> datetime:
    """The UTC interval boundary at or before ``moment`` (at or after it with ``up``); every
    interval divides a day, so the boundaries of ``1d`` are midnights and of ``4h`` 00:00, 04:00, ..."""
    count, rest = divmod(moment - EPOCH, step)
    return EPOCH + (count + (1 if up and rest else 0)) * step


def _epoch_seconds(candle: CandleOut) -> int:
    return int((candle.start - EPOCH).total_seconds())


def candles_of(trades: list[TradeInfo], step: timedelta) -> list[CandleOut]:
    """Group time-ordered trades into the UTC intervals of ``step`` that hold them."""
    buckets: dict[datetime, list[TradeInfo]] = {}
    for trade in trades:
        buckets.setdefault(boundary(trade.created_at, step), []).append(trade)
    result = []
    for start, group in sorted(buckets.items()):
        prices = [t.price_ticks for t in group]
        tick = group[0].tick_micros
        result.append(
            CandleOut(
                start=start,
                open=ticks_to_price(prices[0], tick),
                high=ticks_to_price(max(prices), tick),
                low=ticks_to_price(min(prices), tick),
                close=ticks_to_price(prices[-1], tick),
                volume=sum(t.qty for t in group),
            )
        )
    return result
