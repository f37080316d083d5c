"""Public market data of one instrument: book, trades, ticker, quote and candles."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from litestar import Controller, get
from litestar.params import FromQuery, QueryParameter

from api.context import Ctx, call
from api.errors import ApiError
from api.openapi import problems
from api.pagination import CursorParam, LimitParam, Page, decode_cursor, page_of
from api.schemas.common import Instant, Symbol
from api.schemas.market_data import BookOut, CandleOut, FixingOut, QuoteOut, TickerOut, TradeOut
from api.tickers import ticker_of
from market.records import TradeInfo
from market.units import ticks_to_price

MAX_DEPTH = 1000


class MarketDataController(Controller):
    """No key needed."""

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
        return BookOut.of(await call(ctx.exchange.book, symbol, depth))

    @get("/trades", summary="Trades", responses=problems(404))
    async def trades(
        self, ctx: Ctx, symbol: Symbol, cursor: CursorParam = None, limit: LimitParam = 100
    ) -> Page[TradeOut]:
        """Public trades, oldest first."""
        after = decode_cursor(cursor, int)
        trades = await call(ctx.exchange.trades, symbol, after=after, limit=limit + 1)
        return page_of(trades, limit, key=lambda trade: trade.id, render=TradeOut.of)

    @get("/ticker", summary="Ticker", responses=problems(404))
    async def ticker(self, ctx: Ctx, symbol: Symbol) -> TickerOut:
        """Best bid and ask, last price, 24-hour volume and the mark."""
        return await ticker_of(ctx, symbol)

    @get("/quote", summary="Fair value and Greeks", responses=problems(404))
    async def quote(self, ctx: Ctx, symbol: Symbol) -> QuoteOut:
        """The pricing core's fair value (USD per GPU-hour), Greeks and model; ``no_mark`` without fixings."""
        return QuoteOut.of(await ctx.mark(symbol, greeks=True))

    @get("/settlement-fixings", summary="Fixings a cash settlement used", responses=problems(404))
    async def settlement_fixings(self, ctx: Ctx, symbol: Symbol) -> list[FixingOut]:
        """The exact fixing revisions the instrument was cash-settled against (empty until it settles);
        corrections made afterwards are new revisions and change neither this list nor the settlement."""
        return [FixingOut.of(f) for f in await call(ctx.exchange.settled_on, symbol)]

    @get("/candles", summary="Candles", responses=problems(404))
    async def candles(
        self,
        ctx: Ctx,
        symbol: Symbol,
        interval: FromQuery[Literal["1m", "5m", "15m", "1h", "4h", "1d"]] = "1h",
        start: FromQuery[Instant | None] = None,
        end: FromQuery[Instant | None] = None,
    ) -> list[CandleOut]:
        """OHLC and volume of the trades per interval in ``[start, end)`` (default: the last 100
        intervals); intervals without trades are omitted; at most 1000 intervals."""
        step = INTERVALS[interval]
        end = end or ctx.exchange.now()
        start = start or end - 100 * step
        if end <= start or (end - start) / step > MAX_CANDLES:
            raise ApiError(
                "invalid_window", f"need start < end and at most {MAX_CANDLES} intervals", field="start"
            )
        trades = await call(ctx.exchange.trades_between, symbol, start, end)
        return candles_of(trades, start, step)


INTERVALS = {
    "1m": timedelta(minutes=1),
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "4h": timedelta(hours=4),
    "1d": timedelta(days=1),
}
MAX_CANDLES = 1000


def candles_of(trades: list[TradeInfo], start: datetime, step: timedelta) -> list[CandleOut]:
    """Group time-ordered trades into intervals of ``step`` counted from ``start``."""
    buckets: dict[int, list[TradeInfo]] = {}
    for trade in trades:
        buckets.setdefault((trade.created_at - start) // step, []).append(trade)
    result = []
    for index, group in sorted(buckets.items()):
        prices = [t.price_ticks for t in group]
        tick = group[0].tick_micros
        result.append(
            CandleOut(
                start=start + index * step,
                open=ticks_to_price(prices[0], tick),
                high=ticks_to_price(max(prices), tick),
                low=ticks_to_price(min(prices), tick),
                close=ticks_to_price(prices[-1], tick),
                volume=sum(t.qty for t in group),
            )
        )
    return result
