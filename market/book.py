"""The in-memory structures of one order book: orders, price levels, book sides and pending stops.

These hold state only; the matching rules live in :mod:`market.engine`, which is the single writer.
Prices are integer ticks and quantities integer lots. Each side keeps its prices in one sorted list
with the best price at the end (bids ascending by price, asks ascending by negated price), so the
best level is ``keys[-1]`` and taking it is an O(1) ``pop``; each level is an ``OrderedDict`` in time
priority, which gives O(1) append, removal by id and move-to-back (iceberg refresh).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import OrderedDict

from market.triggers import Stops


class Order:
    """A live order: resting in a book, waiting as an untriggered stop, or running as a taker.

    ``open`` is the open quantity (including an iceberg's hidden reserve), ``visible`` the displayed
    part, ``display`` the iceberg slice size (``None`` for a plain order). ``priority`` is the engine's
    acceptance counter: it breaks ties between stops triggered together and between equal GTD expiries.
    A trailing stop has a ``trail`` (ticks) and an optional ``activation`` price; its ``stop_price`` is
    the current trigger (``None`` until it is armed, see :mod:`market.triggers`). ``sibling`` is the
    other leg of a one-cancels-other pair while the pair stands.
    """

    __slots__ = (
        "account",
        "activation",
        "display",
        "expire_at",
        "id",
        "is_buy",
        "live",
        "open",
        "order_type",
        "pending",
        "post_only",
        "price",
        "priority",
        "sibling",
        "stop_price",
        "stp",
        "symbol",
        "tif",
        "trail",
        "visible",
    )

    def __init__(
        self,
        id: str,
        symbol: str,
        account: str,
        is_buy: bool,
        order_type: str,
        price: int | None,
        qty: int,
        tif: str,
        expire_at: int | None,
        post_only: bool,
        stp: str,
        display: int | None,
        stop_price: int | None,
        priority: int,
        trail: int | None = None,
        activation: int | None = None,
    ) -> None:
        self.id = id
        self.symbol = symbol
        self.account = account
        self.is_buy = is_buy
        self.order_type = order_type
        self.price = price
        self.open = qty
        self.visible = qty
        self.tif = tif
        self.expire_at = expire_at
        self.post_only = post_only
        self.stp = stp
        self.display = display
        self.stop_price = stop_price
        self.priority = priority
        self.trail = trail
        self.activation = activation
        self.sibling: Order | None = None
        self.pending = stop_price is not None or trail is not None
        self.live = True

    def state(self) -> list:
        """Everything about the order that can influence future events (for the state hash)."""
        state = [
            self.id,
            self.account,
            self.is_buy,
            self.order_type,
            self.price,
            self.open,
            self.visible,
            self.tif,
            self.expire_at,
            self.post_only,
            self.stp,
            self.display,
            self.stop_price,
            self.priority,
        ]
        if self.trail is not None or self.sibling is not None:  # plain orders keep their old digest
            state += [self.trail, self.activation, None if self.sibling is None else self.sibling.id]
        return state


class Level:
    """The orders resting at one price, in time priority, with their total open quantity."""

    __slots__ = ("orders", "total")

    def __init__(self) -> None:
        self.orders: OrderedDict[str, Order] = OrderedDict()
        self.total = 0


class BookSide:
    """One side of a book: price levels keyed by a sort key whose largest value is the best price.

    The key is the price for bids and the negated price for asks, so both sides share the same code:
    ``keys`` is ascending and the best level is always ``levels[keys[-1]]``.
    """

    __slots__ = ("keys", "levels", "sign")

    def __init__(self, is_bid: bool) -> None:
        self.sign = 1 if is_bid else -1
        self.keys: list[int] = []
        self.levels: dict[int, Level] = {}

    def add(self, order: Order) -> None:
        """Rest ``order`` at the back of its price level (creating the level if needed)."""
        key = self.sign * order.price
        level = self.levels.get(key)
        if level is None:
            level = self.levels[key] = Level()
            keys = self.keys
            if not keys or key > keys[-1]:
                keys.append(key)
            else:
                insort(keys, key)
        level.orders[order.id] = order
        level.total += order.open

    def remove(self, order: Order) -> None:
        """Take a resting ``order`` out of its level (dropping the level when it empties)."""
        key = self.sign * order.price
        level = self.levels[key]
        del level.orders[order.id]
        level.total -= order.open
        if not level.orders:
            self.drop(key)

    def drop(self, key: int) -> None:
        """Forget the (empty) level at ``key``."""
        del self.levels[key]
        keys = self.keys
        if keys[-1] == key:
            keys.pop()
        else:
            del keys[bisect_left(keys, key)]

    def best_price(self) -> int | None:
        """The best price on this side, or ``None`` when it is empty."""
        return self.sign * self.keys[-1] if self.keys else None

    def depth(self, limit: int | None = None) -> list[dict]:
        """The best ``limit`` levels (all by default), each with its orders in time priority."""
        sign = self.sign
        levels = self.levels
        keys = self.keys
        if limit is not None:
            keys = keys[-limit:] if limit > 0 else []
        return [
            {
                "price": sign * key,
                "qty": levels[key].total,
                "orders": [
                    {"id": o.id, "account": o.account, "qty": o.open, "visible": o.visible}
                    for o in levels[key].orders.values()
                ],
            }
            for key in reversed(keys)
        ]

    def state(self) -> list:
        """The side's full state in priority order (for the state hash)."""
        return [
            [self.sign * key, [o.state() for o in self.levels[key].orders.values()]]
            for key in reversed(self.keys)
        ]


class Book:
    """The order book of one instrument: both sides, pending stops, last trade price and band."""

    __slots__ = ("asks", "band_bps", "bids", "last", "reference", "stops", "symbol")

    def __init__(self, symbol: str, band_bps: int | None, reference: int | None) -> None:
        self.symbol = symbol
        self.bids = BookSide(is_bid=True)
        self.asks = BookSide(is_bid=False)
        self.stops = Stops()
        self.last: int | None = None
        self.band_bps = band_bps
        self.reference = reference

    def band(self) -> tuple[int, int] | None:
        """The inclusive price band ``(low, high)`` in force now, or ``None`` when there is none.

        The band is centred on the last trade price (or the configured reference price before the
        first trade) and extends ``band_bps`` basis points either side, rounded inwards to ticks.
        """
        if self.band_bps is None:
            return None
        centre = self.last if self.last is not None else self.reference
        if centre is None:
            return None
        low = -((-centre * (10_000 - self.band_bps)) // 10_000)
        high = (centre * (10_000 + self.band_bps)) // 10_000
        return low, high
