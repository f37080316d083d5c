"""The ticker of an instrument: best bid and ask, last price, 24-hour volume and the mark."""

from __future__ import annotations

from datetime import timedelta

from api.context import ApiContext, call
from api.schemas.market_data import TickerOut, mark_price
from market.errors import MarketError
from market.records import BookLevel
from market.units import ticks_to_price


async def ticker_of(ctx: ApiContext, symbol: str) -> TickerOut:
    """The current ticker (``unknown_instrument`` if there is no such instrument); ``mark`` is null
    while the product has no index fixings."""
    book = await call(ctx.exchange.book, symbol, 1)
    now = ctx.exchange.now()
    recent = await call(ctx.exchange.trades_between, symbol, now - timedelta(days=1), now)
    try:
        mark: str | None = mark_price(
            (await ctx.mark(symbol, greeks=False)).fair_value_micros, book.tick_micros
        )
    except MarketError:
        mark = None

    def best(levels: tuple[BookLevel, ...]) -> str | None:
        return ticks_to_price(levels[0].price_ticks, book.tick_micros) if levels else None

    return TickerOut(
        symbol=symbol,
        best_bid=best(book.bids),
        best_ask=best(book.asks),
        last=None if book.last_ticks is None else ticks_to_price(book.last_ticks, book.tick_micros),
        volume_24h=sum(t.qty for t in recent),
        mark=mark,
    )
