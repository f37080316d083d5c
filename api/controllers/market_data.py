"""Public market data of one instrument: book, trades, ticker, quote and candles."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import QueryParameter

from api.context import Ctx, call
from api.openapi import problems
from api.pagination import CursorParam, LimitParam, Page, decode_cursor, page_of
from api.schemas.common import Symbol
from api.schemas.market_data import BookOut, TradeOut

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
