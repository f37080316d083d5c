"""Announce committed changes on the stream: order updates, book deltas, new trades and tickers,
candles and the accounts' positions and balances.

Controllers call :func:`announce` after the exchange service returned, i.e. after the commit. An order
use case returns what its commit changed (:class:`market.records.Changes`: the orders it created or
changed with their fills, its trades, the books it moved), and the order updates, book deltas, trades
and fills are published from that value: nothing is read back. Announcements without it (a listing,
a settlement, a liquidation), or when trades of commits the stream was not told about came in between
(the change set's ``since_trade_id`` beyond :meth:`api.stream.StreamHub.trades_through`), read books,
trades and fills back from the exchange (only for symbols and accounts someone follows), so trades
caused indirectly -- a stop that triggered, a resting order that was hit -- are published as well.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

import msgspec

from api.context import ApiContext, call
from api.feeds import publish_candles, publish_private
from api.schemas.market_data import TradeOut
from api.schemas.orders import OrderOut
from api.stream import BookState, Levels
from api.tickers import ticker_of
from market.records import BookInfo, BookLevel, Changes, OrderInfo
from market.units import ticks_to_price

TRADE_PAGE = 1000
T = TypeVar("T")


def book_state(book: BookInfo) -> BookState:
    """The stream's view of a book: displayed quantity by decimal price, per side."""

    def side(levels: Iterable[BookLevel]) -> Levels:
        return {ticks_to_price(level.price_ticks, book.tick_micros): level.visible for level in levels}

    return BookState(book.seq, side(book.bids), side(book.asks))


async def load_book(ctx: ApiContext, symbol: str) -> BookState:
    """The current book of ``symbol`` as a stream state (``unknown_instrument`` if there is none)."""
    return book_state(await call(ctx.exchange.book, symbol))


async def _newest_id(fetch: Callable[..., list[T]], owner: str, id_of: Callable[[T], int]) -> int:
    """The id of the newest record ``fetch`` lists for ``owner`` (0 when none), read page by page."""
    last = 0
    while True:
        page = await call(fetch, owner, after=last, limit=TRADE_PAGE)
        if page:
            last = id_of(page[-1])
        if len(page) < TRADE_PAGE:
            return last


async def _all_after(
    fetch: Callable[..., list[T]], owner: str, after: int, id_of: Callable[[T], int]
) -> list[T]:
    """Every record ``fetch`` lists for ``owner`` after id ``after``, page by page: a read-back must
    reach the newest, since the stream is then told it announced everything up to this commit."""
    found: list[T] = []
    while True:
        page = await call(fetch, owner, after=after, limit=TRADE_PAGE)
        found += page
        if len(page) < TRADE_PAGE:
            return found
        after = id_of(page[-1])


async def start_trades(ctx: ApiContext, symbol: str) -> None:
    """Begin following ``symbol``'s trades: later trades are published, earlier ones never."""
    if ctx.hub.trade_watermark(symbol) is None:
        ctx.hub.set_trade_watermark(symbol, await _newest_id(ctx.exchange.trades, symbol, lambda t: t.id))


async def start_fills(ctx: ApiContext, account_id: str) -> None:
    """Begin following an account's fills, so resting orders that others fill are announced too."""
    if ctx.hub.fill_watermark(account_id) is None:
        newest = await _newest_id(ctx.exchange.fills, account_id, lambda f: f.trade_id)
        ctx.hub.set_fill_watermark(account_id, newest)


async def _filled_elsewhere(ctx: ApiContext, published: set[str]) -> None:
    """Announce the orders of listening accounts that were filled by someone else's order, reading
    their fills after each account's watermark."""
    for account_id in ctx.hub.private_listeners():
        watermark = ctx.hub.fill_watermark(account_id)
        if watermark is None:
            continue
        fills = await _all_after(ctx.exchange.fills, account_id, watermark, lambda f: f.trade_id)
        if not fills:
            continue
        ctx.hub.set_fill_watermark(account_id, fills[-1].trade_id)
        filled = [
            await call(ctx.exchange.order, account_id, oid)
            for oid in dict.fromkeys(f.order_id for f in fills)
            if oid not in published
        ]
        await _publish_filled(ctx, account_id, filled, published, None)


def _filled_in(ctx: ApiContext, changes: Changes, published: set[str]) -> list[tuple[str, list[OrderInfo]]]:
    """Per listening account, its orders that ``changes`` filled (after its fill watermark), moving the
    watermark as :func:`_filled_elsewhere` does; from the change set, nothing read."""
    found = []
    for account_id in ctx.hub.private_listeners():
        watermark = ctx.hub.fill_watermark(account_id)
        if watermark is None:
            continue
        after = max(watermark, changes.since_trade_id)
        fills = sorted(
            (fill.trade_id, fill.side != "buy", fill.order_id)
            for order in changes.orders
            if order.account_id == account_id
            for fill in order.fills
            if fill.trade_id > after
        )
        if not fills:
            continue
        ctx.hub.set_fill_watermark(account_id, fills[-1][0])
        ids = dict.fromkeys(order_id for _, _, order_id in fills if order_id not in published)
        found.append((account_id, [order for oid in ids if (order := changes.order(oid)) is not None]))
    return found


async def _publish_filled(
    ctx: ApiContext, account_id: str, filled: list[OrderInfo], published: set[str], changes: Changes | None
) -> None:
    for order in await _with_partners(ctx, filled, changes):
        if order.id not in published:
            ctx.hub.order(account_id, msgspec.to_builtins(OrderOut.of(order)))


async def _with_partners(
    ctx: ApiContext, orders: list[OrderInfo], changes: Changes | None
) -> list[OrderInfo]:
    """``orders`` and the other legs of their one-cancels-other pairs (one leg's change often closes
    the other in the same commit): from ``changes`` (which holds every changed order's legs), or read."""
    ids = {order.id for order in orders}
    for order in list(orders):
        if order.link_id is not None:
            if changes is None:
                legs = await call(ctx.exchange.pair, order.account_id, order.link_id)
            else:
                legs = [
                    o
                    for o in changes.orders
                    if o.link_id == order.link_id and o.account_id == order.account_id
                ]
            for leg in legs:
                if leg.id not in ids:
                    ids.add(leg.id)
                    orders.append(leg)
    return orders


async def announce(
    ctx: ApiContext, orders: Iterable[OrderInfo], symbols: Iterable[str] = (), changes: Changes | None = None
) -> None:
    """Publish order updates to their owners (including resting orders the change filled), then the
    books, trades and tickers of every symbol touched; from ``changes`` when the use case returned
    them (see the module docstring)."""
    touched = set(symbols)
    published = set()
    listeners = set(ctx.hub.private_listeners())
    told = changes is not None and changes.since_trade_id <= ctx.hub.trades_through()
    for order in await _with_partners(ctx, list(orders), changes):
        touched.add(order.symbol)
        published.add(order.id)
        if order.account_id in listeners:
            ctx.hub.order(order.account_id, msgspec.to_builtins(OrderOut.of(order)))
    if touched:
        if changes is not None and told:
            for account_id, filled in _filled_in(ctx, changes, published):
                await _publish_filled(ctx, account_id, filled, published, changes)
        else:
            await _filled_elsewhere(ctx, published)
    # reading back after commits the stream was not told of: every followed symbol's trades, so that
    # every trade up to this commit's has been announced afterwards
    behind = set(ctx.hub.trade_symbols()) if changes is not None and not told and touched else set()
    for symbol in sorted(touched | behind):
        if symbol in touched and ctx.hub.tracks_book(symbol):
            book = None if changes is None else changes.book(symbol)
            ctx.hub.book_update(symbol, await load_book(ctx, symbol) if book is None else book_state(book))
        watermark = ctx.hub.trade_watermark(symbol)
        if watermark is not None:
            if changes is not None and told:
                trades = [trade for trade in changes.trades if trade.symbol == symbol]
            else:
                trades = await _all_after(ctx.exchange.trades, symbol, watermark, lambda t: t.id)
            for trade in trades:
                ctx.hub.trade(symbol, trade.id, msgspec.to_builtins(TradeOut.of(trade)))
        if symbol in touched and ctx.hub.has_subscribers(f"ticker.{symbol}"):
            ctx.hub.ticker(symbol, msgspec.to_builtins(await ticker_of(ctx, symbol)))
    if changes is not None and (told or touched):  # every trade up to this commit's is announced now
        ctx.hub.told_through(changes.last_trade_id)
    await publish_candles(ctx, sorted(touched))
    await publish_private(ctx)


async def announce_cancelled(
    ctx: ApiContext, account_id: str, cause: str, orders: Iterable[OrderInfo], changes: Changes | None = None
) -> None:
    """Publish what a dead-man switch or a disconnect (``cause``) cancelled: each order's update,
    then one ``cancelled_all`` message naming them all on the owner's private ``orders`` channel."""
    orders = list(orders)
    await announce(ctx, orders, changes=changes)
    if account_id in ctx.hub.private_listeners():
        ctx.hub.cancelled_all(account_id, cause, [order.id for order in orders])
