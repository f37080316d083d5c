"""The stream's state channels: private ``positions`` and ``balances``; public ``candles``, ``mark``
and ``index``.

Each starts with a ``snapshot`` and continues with ``update`` messages, numbered like the book: every
message's ``seq`` comes from durable state, and ``prev_seq`` repeats the ``seq`` of the message before
it, so a client spots a gap the way it does on a book. Because the numbers come from the database,
they keep growing across a server restart: a client that reconnects, resubscribes and gets a snapshot
whose ``seq`` is above the last one it holds knows that something changed while it was away.

=============================  ==============================================================
channel                        ``seq`` is
=============================  ==============================================================
``balances``                   the id of the account's newest ledger entry
``positions``                  the exchange clock (microseconds) when the change was seen
``candles.<interval>.<sym>``   the id of the newest trade of the instrument
``mark.<symbol>``              the instant (microseconds) the mark was computed (a basket
                               fund's unit, whose symbol has no dash: its NAV, docs/baskets.md)
``index.<product>``            the id of the product's newest fixing row
=============================  ==============================================================
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import msgspec

from api.context import ApiContext, call
from api.controllers.market_data import INTERVALS, boundary, candles_of
from api.schemas.accounts import BalancesOut
from api.schemas.market_data import FixingOut, mark_price
from api.schemas.portfolio import PositionOut
from api.stream import FeedSnapshot, feed_topic
from market.errors import MarketError, NotFoundError
from market.spans import Span
from market.units import micros_to_dollars, to_epoch_us

FEEDS = frozenset({"balances", "positions", "candles", "mark", "index"})
"""The state channels (their name before any dot)."""

PRIVATE_FEEDS = ("balances", "positions")
"""The account's own state channels."""

TRADE_WINDOW = 1000
"""Most new trades read at once to update candles."""


async def snapshot(ctx: ApiContext, channel: str, account_id: str | None) -> FeedSnapshot:
    """The first message of a state channel (``unknown_instrument`` and the like raise)."""
    if channel == "balances":
        assert account_id is not None
        return await _balances(ctx, account_id)
    if channel == "positions":
        assert account_id is not None
        positions = await _positions(ctx, account_id)
        seq = _clock_seq(ctx, None)
        return FeedSnapshot(seq, {"positions": list(positions.values()), "closed": []}, positions)
    kind, _, rest = channel.partition(".")
    if kind == "candles":
        interval, _, symbol = rest.partition(".")
        newest = await call(ctx.exchange.trades, symbol, limit=1, span=_NEWEST)
        if not newest:
            return FeedSnapshot(0, {"candles": []})
        start = boundary(newest[0].created_at, INTERVALS[interval])
        return FeedSnapshot(newest[0].id, {"candles": await _candles(ctx, symbol, interval, [start])})
    if kind == "mark":
        return await _mark(ctx, rest)
    if all(p.id != rest for p in await call(ctx.exchange.products)):
        raise NotFoundError(f"no product {rest!r}", field="channel")
    seq, latest = await call(ctx.exchange.fixings_since, rest)
    return FeedSnapshot(seq, {"fixings": [_fixing(f) for f in latest]})


async def publish_private(ctx: ApiContext) -> None:
    """Update the ``balances`` and ``positions`` channels of every listening account."""
    for channel in PRIVATE_FEEDS:
        for account_id in ctx.hub.private_listeners(channel):
            await publish_account(ctx, channel, account_id)


async def publish_account(ctx: ApiContext, channel: str, account_id: str) -> None:
    """Update one account's ``balances`` or ``positions`` channel from durable state, if it changed.

    Called after this process committed a change, and on a shard when another shard announced a
    change of the account (:mod:`api.mirror`): either way the message is read from the database, so
    every update on this process's chain is numbered here and none arrives out of order."""
    hub = ctx.hub
    topic = feed_topic(channel, account_id)
    if channel == "balances":
        fresh = await _balances(ctx, account_id)
        hub.feed_update(topic, "balances", fresh.seq, fresh.body)
        return
    if hub.feed(topic) is None:
        return
    positions = await _positions(ctx, account_id)
    last = hub.feed(topic)  # read after the positions: another update may have run meanwhile
    assert last is not None
    before: dict[str, Any] = last.state or {}
    changed = [p for symbol, p in positions.items() if before.get(symbol) != p]
    closed = sorted(set(before) - set(positions))
    if changed or closed:
        body = {"positions": changed, "closed": closed}
        hub.feed_update(topic, "positions", _clock_seq(ctx, last.seq), body, positions)


async def publish_candles(ctx: ApiContext, symbols: Iterable[str]) -> None:
    """Update the followed ``candles`` channels of ``symbols`` with the intervals new trades touched."""
    for symbol in symbols:
        for channel in ctx.hub.followed("candles."):
            interval, _, followed = channel.removeprefix("candles.").partition(".")
            last = ctx.hub.feed(channel)
            if followed != symbol or last is None:
                continue
            trades = await call(ctx.exchange.trades, symbol, after=last.seq, limit=TRADE_WINDOW)
            if trades:
                starts = sorted({boundary(t.created_at, INTERVALS[interval]) for t in trades})
                body = {"candles": await _candles(ctx, symbol, interval, starts)}
                ctx.hub.feed_update(channel, channel, trades[-1].id, body)


async def publish_index(ctx: ApiContext, product: str) -> None:
    """Update ``index.<product>`` with new fixings and ``mark.<symbol>`` of the product's followed
    instruments with their new marks (a mark rests on the index)."""
    channel = f"index.{product}"
    last = ctx.hub.feed(channel)
    if last is not None:
        seq, fixings = await call(ctx.exchange.fixings_since, product, last.seq)
        if fixings:
            ctx.hub.feed_update(channel, channel, seq, {"fixings": [_fixing(f) for f in fixings]})
    for channel in ctx.hub.followed(f"mark.{product}-"):
        try:
            fresh = await _mark(ctx, channel.removeprefix("mark."))
        except MarketError:  # no mark (yet): nothing to announce
            continue
        ctx.hub.feed_update(channel, channel, fresh.seq, fresh.body)
    await publish_navs(ctx)


async def publish_navs(ctx: ApiContext) -> None:
    """Update ``mark.<unit>`` of every followed basket fund with its NAV now (its legs' marks moved,
    or units were created or redeemed)."""
    for channel in ctx.hub.followed("mark."):
        if "-" in channel:
            continue  # a forward, an option or a note: not a unit
        try:
            fresh = await _mark(ctx, channel.removeprefix("mark."))
        except MarketError:
            continue
        ctx.hub.feed_update(channel, channel, fresh.seq, fresh.body)


# -- the bodies ------------------------------------------------------------------------------------

_NEWEST = Span(descending=True)


def _clock_seq(ctx: ApiContext, last: int | None) -> int:
    now = to_epoch_us(ctx.exchange.now())
    return now if last is None or now > last else last + 1


async def _balances(ctx: ApiContext, account_id: str) -> FeedSnapshot:
    seq = await call(ctx.exchange.ledger_version, account_id)
    balances = await call(ctx.exchange.balances, account_id)
    return FeedSnapshot(seq, {"balances": msgspec.to_builtins(BalancesOut.of(balances))})


async def _positions(ctx: ApiContext, account_id: str) -> dict[str, Any]:
    positions = await call(ctx.exchange.positions, account_id)
    return {p.symbol: msgspec.to_builtins(PositionOut.of(p)) for p in positions}


async def _candles(ctx: ApiContext, symbol: str, interval: str, starts: list[datetime]) -> list[Any]:
    step = INTERVALS[interval]
    candles = []
    for start in starts:
        trades = await call(ctx.exchange.trades_between, symbol, start, start + step)
        candles += [msgspec.to_builtins(c) for c in candles_of(trades, step)]
    return candles


async def _mark(ctx: ApiContext, symbol: str) -> FeedSnapshot:
    if "-" not in symbol:  # a basket fund's unit: its mark is its NAV
        nav = await call(ctx.exchange.basket_nav, symbol)
        at = msgspec.to_builtins(nav.at)
        body = {"symbol": symbol, "mark": micros_to_dollars(nav.nav_micros), "as_of": at, "index_as_of": None}
        return FeedSnapshot(to_epoch_us(nav.at), {"mark": {**body, "stale": False}})
    tick = await ctx.tick_micros(symbol)
    mark = await call(ctx.exchange.mark, symbol, greeks=False)
    body = {
        "mark": {
            "symbol": mark.symbol,
            "mark": mark_price(mark.fair_value_micros, tick),
            "as_of": msgspec.to_builtins(mark.as_of),
            "index_as_of": msgspec.to_builtins(mark.index_as_of),
            "stale": mark.stale,
        }
    }
    return FeedSnapshot(to_epoch_us(mark.as_of), body)


def _fixing(fixing: Any) -> Any:
    return msgspec.to_builtins(FixingOut.of(fixing))
