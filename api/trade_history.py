"""Trades of one instrument within a time range, read through the exchange's public trade list.

``Exchange.trades(symbol, after=id, limit=n)`` pages trades in id order, and ids grow with time, so
the first trade at or after an instant is found by a binary search over ``after`` (a few dozen
one-row reads), and the range is then read page by page. Tickers (24-hour volume) and candles use it.
"""

from __future__ import annotations

from datetime import datetime

from market.records import TradeInfo
from market.service import Exchange

PAGE = 1000


def _first_after(exchange: Exchange, symbol: str, after: int) -> TradeInfo | None:
    page = exchange.trades(symbol, after=after, limit=1)
    return page[0] if page else None


def trades_between(exchange: Exchange, symbol: str, start: datetime, end: datetime) -> list[TradeInfo]:
    """Every trade of ``symbol`` with ``start <= created_at < end``, oldest first."""
    first = _first_after(exchange, symbol, 0)
    if first is None or first.created_at >= end:
        return []
    low = 0  # invariant: the first trade after id ``low`` is before ``start`` (or ``low`` is 0)
    if first.created_at < start:
        high = max(first.id, 1)
        while (found := _first_after(exchange, symbol, high)) is not None and found.created_at < start:
            low, high = high, high * 2
        while high - low > 1:  # the first trade after ``high`` is at or after ``start``, or none
            middle = (low + high) // 2
            found = _first_after(exchange, symbol, middle)
            if found is not None and found.created_at < start:
                low = middle
            else:
                high = middle
        low = high
    result: list[TradeInfo] = []
    while True:
        page = exchange.trades(symbol, after=low, limit=PAGE)
        for trade in page:
            if trade.created_at >= end:
                return result
            if trade.created_at >= start:
                result.append(trade)
        if len(page) < PAGE:
            return result
        low = page[-1].id
