"""The conditional orders of one book: stops at a fixed price and trailing stops that follow the market.

Both wait outside the book until the last trade price reaches their trigger (``stop_price``): a buy
at or above it, a sell at or below it. Plain stops are kept sorted by trigger, so the trigger test
after a taker's run costs O(log n). A trailing stop's trigger moves, so trailing stops are kept in
acceptance order and scanned (they are few next to resting orders, and a book without them pays
nothing):

* a **sell** trails ``trail`` ticks below the highest price traded since it was armed, a **buy**
  ``trail`` ticks above the lowest; the trigger only ever moves towards the market;
* it is **armed** at acceptance from the book's last price, or by the first trade after it when the
  book has none; with an ``activation`` price it is armed only once a trade reaches it (a sell at or
  above it, a buy at or below it), from that trade on.

The offset is a whole number of ticks: the trigger stays on the tick grid, the arithmetic is exact
and the trail means the same in every price region (a percentage would round differently per level).

The engine calls :meth:`Stops.follow` once per taker run with the run's lowest and highest trade
prices. A run's trades are monotone in price (a taker walks one side best price first), so the run's
extremes are exactly the extremes a trade-by-trade update would have reached.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from operator import itemgetter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from market.book import Order

_stop_price = itemgetter(0)
_stop_key = itemgetter(0, 1)


class Stops:
    """Untriggered stop orders of one book: plain ones sorted by stop price, trailing ones by age.

    Plain entries are ``(stop_price, priority, order)`` and ``priority`` is unique, so orders
    themselves are never compared.
    """

    __slots__ = ("buys", "sells", "trailing")

    def __init__(self) -> None:
        self.buys: list[tuple[int, int, Order]] = []
        self.sells: list[tuple[int, int, Order]] = []
        self.trailing: dict[str, Order] = {}  # acceptance order (insertion order)

    def __bool__(self) -> bool:
        return bool(self.buys or self.sells or self.trailing)

    def add(self, order: Order, last: int | None) -> bool:
        """Park an accepted stop until it triggers; a trailing stop is armed from ``last`` if it can
        be. Returns whether a trailing stop's trigger was set (the engine announces it)."""
        if order.trail is None:
            insort(self.buys if order.is_buy else self.sells, (order.stop_price, order.priority, order))
            return False
        self.trailing[order.id] = order
        return last is not None and _follow(order, last, last)

    def remove(self, order: Order) -> None:
        """Take an untriggered stop out (cancel, expiry or its one-cancels-other sibling)."""
        if order.trail is not None:
            del self.trailing[order.id]
            return
        entries = self.buys if order.is_buy else self.sells
        del entries[bisect_left(entries, (order.stop_price, order.priority), key=_stop_key)]

    def follow(self, low: int, high: int) -> list[Order]:
        """Move the trailing stops after a run that traded between ``low`` and ``high``; returns the
        ones whose trigger moved (or was armed), in acceptance order."""
        return [order for order in self.trailing.values() if _follow(order, low, high)]

    def pop_triggered(self, last: int) -> list[Order]:
        """Remove and return the stops that ``last`` triggers, in acceptance order."""
        buys, sells = self.buys, self.sells
        n_buys = bisect_right(buys, last, key=_stop_price) if buys else 0
        first_sell = bisect_left(sells, last, key=_stop_price) if sells else 0
        trailing = self.trailing
        fired = [order for order in trailing.values() if _reached(order, last)] if trailing else []
        if not n_buys and first_sell == len(sells) and not fired:
            return []
        for order in fired:
            del trailing[order.id]
        fired += [entry[2] for entry in buys[:n_buys]] + [entry[2] for entry in sells[first_sell:]]
        del buys[:n_buys]
        del sells[first_sell:]
        fired.sort(key=lambda order: order.priority)
        return fired

    def state(self) -> list:
        """The pending stops in a canonical order (for the state hash)."""
        return [entry[2].state() for entry in self.buys + self.sells] + [
            order.state() for order in self.trailing.values()
        ]


def _reached(order: Order, last: int) -> bool:
    """Whether the last price triggers an armed trailing stop."""
    stop = order.stop_price
    return stop is not None and (last >= stop if order.is_buy else last <= stop)


def _follow(order: Order, low: int, high: int) -> bool:
    """Arm or move one trailing stop after trades between ``low`` and ``high``; whether it changed."""
    stop = order.stop_price
    if order.is_buy:
        if stop is None and order.activation is not None and low > order.activation:
            return False
        trigger = low + order.trail
        if stop is not None and trigger >= stop:
            return False
    else:
        if stop is None and order.activation is not None and high < order.activation:
            return False
        trigger = high - order.trail
        if stop is not None and trigger <= stop:
            return False
    order.stop_price = trigger
    return True
