"""The matching engine: deterministic price-time order books driven by command dicts.

One :class:`MatchingEngine` holds one book per instrument and is their only writer. It takes one
command at a time and returns that command's events; it reads no clock (time arrives as a ``time``
command) and does no I/O, so replaying a command log reproduces every event byte for byte. The
semantics and the event protocol are described in ``docs/matching.md``. Whether an order (or a
one-cancels-other pair) may enter lives in :mod:`market.admission`; stops and trailing stops wait in
:mod:`market.triggers`.

Bad client input never raises: it yields a ``rejected`` event with a stable ``reason`` code. Only
programming errors raise: a command that is not a ``dict`` (``TypeError``), invalid
:meth:`MatchingEngine.add_instrument` arguments (``ValueError``) and a snapshot of an unknown symbol
(``KeyError``).
"""

from __future__ import annotations

import hashlib
import heapq
import json

from market.admission import MAX_INT, check_new, check_oco, crosses
from market.book import Book, Order

_CANCEL_KEYS = frozenset({"op", "symbol", "id", "account"})
_AMEND_KEYS = frozenset({"op", "symbol", "id", "account", "qty", "price"})
_TIME_KEYS = frozenset({"op", "now"})
_RESET_KEYS = frozenset({"op", "symbol"})


class MatchingEngine:
    """Deterministic in-memory order books for a set of instruments, one writer for all of them.

    Every event carries ``seq``, a counter shared by all books that increases by one per event, so
    the event stream of the whole engine is gap-free and totally ordered.
    """

    def __init__(self) -> None:
        self._books: dict[str, Book] = {}
        self._orders: dict[str, Order] = {}  # live orders: resting or untriggered stops
        self._ids: set[str] = set()  # every order id ever accepted (ids are never reused)
        self._expiries: list[tuple[int, int, Order]] = []  # GTD heap; closed orders skipped lazily
        self._seq = 0
        self._priority = 0
        self._now = 0
        self._handlers = {
            "new": self._new,
            "oco": self._oco,
            "cancel": self._cancel,
            "amend": self._amend,
            "time": self._time,
            "reset": self._reset,
        }

    # ------------------------------------------------------------------ public interface

    def add_instrument(
        self, symbol: str, *, band_bps: int | None = None, reference: int | None = None
    ) -> None:
        """Open an empty book for ``symbol``.

        ``band_bps`` turns on a price band of that many basis points either side of the last trade
        price (or of ``reference`` before the first trade): limit orders priced outside it are
        rejected and takers stop rather than trade outside it.
        """
        if not isinstance(symbol, str) or not symbol:
            raise ValueError("symbol must be a non-empty string")
        if symbol in self._books:
            raise ValueError(f"instrument {symbol!r} already exists")
        if band_bps is not None and (type(band_bps) is not int or not 0 < band_bps <= 10_000):
            raise ValueError("band_bps must be an integer in 1..10000")
        if reference is not None:
            if band_bps is None:
                raise ValueError("reference only makes sense with band_bps")
            if type(reference) is not int or not 0 < reference <= MAX_INT:
                raise ValueError("reference must be a positive integer price in ticks")
        self._books[symbol] = Book(symbol, band_bps, reference)

    def apply(self, command: dict) -> list[dict]:
        """Apply one command and return its events in order."""
        if not isinstance(command, dict):
            raise TypeError(f"a command is a dict, not {type(command).__name__}")
        events: list[dict] = []
        op = command.get("op")
        handler = self._handlers.get(op) if type(op) is str else None
        if handler is None:
            self._reject(events, command.get("id"), "unknown_op")
        else:
            handler(command, events)
        return events

    def snapshot(self, symbol: str, levels: int | None = None) -> dict:
        """The book of ``symbol``: levels best first, orders in time priority, last price, last seq.

        ``levels`` limits each side to that many best levels (all by default), which keeps market
        data and pre-trade checks cheap on deep books.
        """
        book = self._books[symbol]
        return {
            "bids": book.bids.depth(levels),
            "asks": book.asks.depth(levels),
            "last": book.last,
            "seq": self._seq,
        }

    def symbols(self) -> list[str]:
        """The instruments of this engine, in the order they were added."""
        return list(self._books)

    def state_hash(self) -> str:
        """A SHA-256 hex digest of everything that determines future events; equal states hash equal."""
        state = {
            "seq": self._seq,
            "now": self._now,
            "priority": self._priority,
            "ids": sorted(self._ids),
            "books": [
                [
                    symbol,
                    book.band_bps,
                    book.reference,
                    book.last,
                    book.bids.state(),
                    book.asks.state(),
                    book.stops.state(),
                ]
                for symbol, book in sorted(self._books.items())
            ],
        }
        return hashlib.sha256(json.dumps(state, separators=(",", ":")).encode()).hexdigest()

    # ------------------------------------------------------------------ commands

    def _new(self, cmd: dict, events: list[dict]) -> None:
        order = check_new(cmd, self._books, self._ids, self._now)
        if type(order) is str:
            return self._reject(events, cmd.get("id"), order)
        book = self._books[order.symbol]
        self._accept(order, events)
        self._place(book, order, events)
        if book.stops and book.last is not None:
            self._fire_stops(book, events)
        return None

    def _oco(self, cmd: dict, events: list[dict]) -> None:
        """Admit two linked orders whole or not at all: the stop leg is parked, then the limit leg runs."""
        legs = check_oco(cmd, self._books, self._ids, self._now)
        if type(legs[0]) is tuple:
            for oid, reason in legs:
                self._reject(events, oid, reason)
            return
        first, second = legs
        book = self._books[first.symbol]
        for order in legs:
            self._accept(order, events)
        first.sibling, second.sibling = second, first
        self._seq += 1
        events.append({"type": "linked", "seq": self._seq, "link": cmd["link"], "ids": [first.id, second.id]})
        for order in sorted(legs, key=lambda o: not o.pending):
            if order.live:
                self._place(book, order, events)
        if book.stops and book.last is not None:
            self._fire_stops(book, events)

    def _accept(self, order: Order, events: list[dict]) -> None:
        """Number an admitted order and announce it with all its settings."""
        self._priority += 1
        order.priority = self._priority
        oid = order.id
        self._ids.add(oid)
        self._seq += 1
        event = {
            "type": "accepted",
            "seq": self._seq,
            "id": oid,
            "symbol": order.symbol,
            "account": order.account,
            "side": "buy" if order.is_buy else "sell",
            "order_type": order.order_type,
            "price": order.price,
            "qty": order.open,
            "tif": order.tif,
            "expire_at": order.expire_at,
            "post_only": order.post_only,
            "stp": order.stp,
            "display_qty": order.display,
            "stop_price": order.stop_price,
        }
        if order.trail is not None:
            event["trail"] = order.trail
            event["activation_price"] = order.activation
        events.append(event)
        if order.expire_at is not None:
            heapq.heappush(self._expiries, (order.expire_at, order.priority, order))

    def _place(self, book: Book, order: Order, events: list[dict]) -> None:
        """Park an accepted stop (arming a trailing one from the last price) or run an order as a taker."""
        if order.pending:
            self._orders[order.id] = order
            if book.stops.add(order, book.last):
                self._trailed(order, events)
        else:
            self._execute(book, order, events)

    def _cancel(self, cmd: dict, events: list[dict]) -> None:
        oid = cmd.get("id")
        if not _CANCEL_KEYS.issuperset(cmd):
            return self._reject(events, oid, "unknown_field")
        book, order = self._find(cmd, events)
        if order is None:
            return None
        _lift(book, order)
        self._close(order, "cancelled", "user", events)
        if order.sibling is not None:
            self._unlink(order, events)

    def _amend(self, cmd: dict, events: list[dict]) -> None:
        oid = cmd.get("id")
        if not _AMEND_KEYS.issuperset(cmd):
            return self._reject(events, oid, "unknown_field")
        book, order = self._find(cmd, events)
        if order is None:
            return None
        if order.pending:
            return self._reject(events, oid, "invalid_amend")
        qty = cmd.get("qty")
        price = cmd.get("price")
        if qty is None and price is None:
            return self._reject(events, oid, "invalid_amend")
        if qty is None:
            qty = order.open
        elif type(qty) is not int or qty > MAX_INT:
            return self._reject(events, oid, "invalid_qty")
        elif qty <= 0:
            return self._reject(events, oid, "invalid_amend")
        if price is None:
            price = order.price
        elif type(price) is not int or not 0 < price <= MAX_INT:
            return self._reject(events, oid, "invalid_price")
        is_buy = order.is_buy
        side = book.bids if is_buy else book.asks
        if price == order.price and qty <= order.open:
            side.levels[side.sign * price].total -= order.open - qty
            order.open = qty
            if order.visible > qty:
                order.visible = qty
            self._amended(events, oid, qty, price, priority_kept=True)
            return None
        opposite = book.asks if is_buy else book.bids
        crossing = crosses(opposite, is_buy, price)
        if price != order.price:
            band = book.band()
            if band is not None and not band[0] <= price <= band[1]:
                return self._reject(events, oid, "outside_band")
            if order.post_only and crossing:
                return self._reject(events, oid, "post_only_would_take")
        side.remove(order)
        order.price = price
        order.open = qty
        display = order.display
        order.visible = display if display is not None and display < qty else qty
        self._amended(events, oid, qty, price, priority_kept=False)
        if crossing:
            del self._orders[oid]
            self._execute(book, order, events)
            if book.stops and book.last is not None:
                self._fire_stops(book, events)
        else:
            side.add(order)
        return None

    def _time(self, cmd: dict, events: list[dict]) -> None:
        if not _TIME_KEYS.issuperset(cmd):
            return self._reject(events, None, "unknown_field")
        now = cmd.get("now")
        if type(now) is not int or not self._now <= now <= MAX_INT:
            return self._reject(events, None, "invalid_time")
        self._now = now
        expiries = self._expiries
        while expiries and expiries[0][0] <= now:
            order = heapq.heappop(expiries)[2]
            if not order.live:
                continue
            _lift(self._books[order.symbol], order)
            self._close(order, "expired", "gtd", events)
            if order.sibling is not None:
                self._unlink(order, events)
        return None

    def _reset(self, cmd: dict, events: list[dict]) -> None:
        """Empty one book (an operator's rebuild of a book refused at recovery): every resting order
        and pending stop leaves it without an order event of its own; one ``reset`` event lists them."""
        if not _RESET_KEYS.issuperset(cmd):
            return self._reject(events, None, "unknown_field")
        symbol = cmd.get("symbol")
        book = self._books.get(symbol) if type(symbol) is str else None
        if book is None:
            return self._reject(events, None, "unknown_symbol")
        removed = sorted((o for o in self._orders.values() if o.symbol == symbol), key=lambda o: o.priority)
        for order in removed:
            _lift(book, order)
            del self._orders[order.id]
            order.live = False
        self._seq += 1
        events.append({"type": "reset", "seq": self._seq, "symbol": symbol, "ids": [o.id for o in removed]})
        return None

    # ------------------------------------------------------------------ matching

    def _execute(self, book: Book, order: Order, events: list[dict]) -> None:
        """Run an accepted, triggered or re-priced order as a taker, then rest or close it."""
        band = book.band()
        if order.tif == "fok" and not self._fok_fillable(book, order, band):
            self._finish(order, "fok", events)
            return
        reason = self._take(book, order, band, events)
        if reason is not None:
            self._finish(order, reason, events)
        elif order.open == 0:
            order.live = False
            self._seq += 1
            events.append({"type": "filled", "seq": self._seq, "id": order.id})
        elif order.price is None:
            self._finish(order, "no_liquidity", events)
        elif order.tif == "ioc":
            self._finish(order, "ioc", events)
        else:
            display = order.display
            order.visible = display if display is not None and display < order.open else order.open
            (book.bids if order.is_buy else book.asks).add(order)
            self._orders[order.id] = order
            self._seq += 1
            events.append({"type": "resting", "seq": self._seq, "id": order.id, "qty": order.open})

    def _take(self, book: Book, taker: Order, band: tuple[int, int] | None, events: list[dict]) -> str | None:
        """Match ``taker`` against the opposite side; return why it stopped early (``stp``, ``band``).

        Trades happen at the maker's price, best price first and in time priority within a price.
        """
        is_buy = taker.is_buy
        side = book.asks if is_buy else book.bids
        keys = side.keys
        levels = side.levels
        sign = side.sign
        limit = taker.price
        low, high = band if band is not None else (0, 0)
        symbol = book.symbol
        taker_id = taker.id
        account = taker.account
        taker_side = "buy" if is_buy else "sell"
        orders = self._orders
        rem = taker.open
        reason = None
        first = last = None
        linked: list[Order] = []  # one-cancels-other legs whose link this run ends
        seq = self._seq
        while rem and keys:
            key = keys[-1]
            price = sign * key
            if limit is not None and (price > limit if is_buy else price < limit):
                break
            if band is not None and (price < low or price > high):
                reason = "band"
                break
            level = levels[key]
            queue = level.orders
            while rem and queue:
                maker = next(iter(queue.values()))
                if maker.account == account and taker.stp != "none":
                    stp = taker.stp
                    if stp == "decrement":
                        cut = rem if rem < maker.open else maker.open
                        rem -= cut
                        maker.open -= cut
                        level.total -= cut
                        if maker.visible > maker.open:
                            maker.visible = maker.open
                        seq += 1
                        events.append(
                            {
                                "type": "decremented",
                                "seq": seq,
                                "symbol": symbol,
                                "maker": maker.id,
                                "taker": taker_id,
                                "qty": cut,
                            }
                        )
                        if maker.open == 0:
                            del queue[maker.id]
                            del orders[maker.id]
                            maker.live = False
                            seq += 1
                            events.append(
                                {"type": "cancelled", "seq": seq, "id": maker.id, "qty": 0, "reason": "stp"}
                            )
                            if maker.sibling is not None:
                                linked.append(maker)
                        if rem == 0:
                            reason = "stp"
                        continue
                    if stp == "cancel_newest":
                        reason = "stp"
                        break
                    del queue[maker.id]
                    del orders[maker.id]
                    level.total -= maker.open
                    maker.live = False
                    seq += 1
                    events.append(
                        {"type": "cancelled", "seq": seq, "id": maker.id, "qty": maker.open, "reason": "stp"}
                    )
                    if maker.sibling is not None:
                        linked.append(maker)
                    if stp == "cancel_both":
                        reason = "stp"
                        break
                    continue
                visible = maker.visible
                qty = rem if rem < visible else visible
                rem -= qty
                maker.open -= qty
                level.total -= qty
                seq += 1
                events.append(
                    {
                        "type": "trade",
                        "seq": seq,
                        "symbol": symbol,
                        "price": price,
                        "qty": qty,
                        "maker": maker.id,
                        "taker": taker_id,
                        "maker_account": maker.account,
                        "taker_account": account,
                        "taker_side": taker_side,
                    }
                )
                if last is None:
                    first = price
                last = price
                if maker.sibling is not None:
                    linked.append(maker)
                if qty < visible:
                    maker.visible = visible - qty
                elif maker.open == 0:
                    del queue[maker.id]
                    del orders[maker.id]
                    maker.live = False
                    seq += 1
                    events.append({"type": "filled", "seq": seq, "id": maker.id})
                else:  # an iceberg's shown slice is gone: refresh it at the back of the level
                    display = maker.display
                    maker.visible = display if display < maker.open else maker.open
                    queue.move_to_end(maker.id)
            if not queue:
                side.drop(key)
            if reason is not None:
                break
        self._seq = seq
        taker.open = rem
        if last is not None:
            book.last = last
            if taker.sibling is not None:
                self._unlink(taker, events)
        for order in linked:
            if order.sibling is not None:  # an iceberg leg may trade more than once
                self._unlink(order, events)
        if last is not None and book.stops.trailing:
            low, high = (first, last) if first <= last else (last, first)
            for order in book.stops.follow(low, high):
                self._trailed(order, events)
        return reason

    def _fok_fillable(self, book: Book, taker: Order, band: tuple[int, int] | None) -> bool:
        """Whether matching would fill ``taker`` completely, with no self-trade prevention cutting in.

        It follows the matching order exactly: at a level holding a blocking own order, only the shown
        quantity ahead of it can trade (icebergs refresh behind it).
        """
        is_buy = taker.is_buy
        side = book.asks if is_buy else book.bids
        sign = side.sign
        limit = taker.price
        need = taker.open
        account = taker.account
        stp = taker.stp
        got = 0
        for key in reversed(side.keys):
            price = sign * key
            if limit is not None and (price > limit if is_buy else price < limit):
                return False
            if band is not None and not band[0] <= price <= band[1]:
                return False
            level = side.levels[key]
            if stp == "none":
                got += level.total
                if got >= need:
                    return True
                continue
            shown = 0
            total = 0
            for maker in level.orders.values():
                if maker.account == account:
                    if stp == "cancel_oldest":
                        continue
                    return got + shown >= need
                shown += maker.visible
                if got + shown >= need:
                    return True
                total += maker.open
            got += total
            if got >= need:
                return True
        return False

    def _fire_stops(self, book: Book, events: list[dict]) -> None:
        """Trigger the stops that the last price reaches and run them, cascading, in trigger order."""
        stops = book.stops
        queue = self._trigger(book, events)
        i = 0
        while i < len(queue):
            order = queue[i]
            i += 1
            if order.price is not None:
                band = book.band()
                if band is not None and not band[0] <= order.price <= band[1]:
                    self._finish(order, "band", events)
                    continue
            self._execute(book, order, events)
            if stops:
                queue.extend(self._trigger(book, events))

    def _trigger(self, book: Book, events: list[dict]) -> list[Order]:
        fired = book.stops.pop_triggered(book.last)
        for order in fired:
            order.pending = False
            del self._orders[order.id]
            self._seq += 1
            events.append({"type": "triggered", "seq": self._seq, "id": order.id})
            if order.sibling is not None:
                self._unlink(order, events)
        return fired

    # ------------------------------------------------------------------ helpers

    def _find(self, cmd: dict, events: list[dict]) -> tuple[Book, Order | None]:
        """The book and the caller's own live order named by a cancel or amend (rejects otherwise)."""
        oid = cmd.get("id")
        symbol = cmd.get("symbol")
        book = self._books.get(symbol) if type(symbol) is str else None
        if book is None:
            self._reject(events, oid, "unknown_symbol")
            return book, None
        order = self._orders.get(oid) if type(oid) is str else None
        if order is None or order.symbol != symbol or order.account != cmd.get("account"):
            self._reject(events, oid, "unknown_order")
            return book, None
        return book, order

    def _close(self, order: Order, event: str, reason: str, events: list[dict]) -> None:
        """Close a live (resting or pending) order that has already left its book."""
        del self._orders[order.id]
        order.live = False
        self._seq += 1
        events.append({"type": event, "seq": self._seq, "id": order.id, "qty": order.open, "reason": reason})

    def _finish(self, order: Order, reason: str, events: list[dict]) -> None:
        """Expire what is left of a taker that will not rest."""
        order.live = False
        self._seq += 1
        events.append(
            {"type": "expired", "seq": self._seq, "id": order.id, "qty": order.open, "reason": reason}
        )
        if order.sibling is not None:
            self._unlink(order, events)

    def _unlink(self, order: Order, events: list[dict]) -> None:
        """End a one-cancels-other link from ``order``'s side: its still-live sibling is cancelled."""
        sibling = order.sibling
        order.sibling = sibling.sibling = None
        _lift(self._books[sibling.symbol], sibling)
        self._close(sibling, "cancelled", "oco", events)

    def _trailed(self, order: Order, events: list[dict]) -> None:
        """Announce a trailing stop's new trigger."""
        self._seq += 1
        events.append({"type": "trailed", "seq": self._seq, "id": order.id, "stop_price": order.stop_price})

    def _amended(self, events: list[dict], oid: str, qty: int, price: int, *, priority_kept: bool) -> None:
        """Record an amend: the order's new open quantity and price, and whether it kept its place."""
        self._seq += 1
        events.append(
            {
                "type": "amended",
                "seq": self._seq,
                "id": oid,
                "qty": qty,
                "price": price,
                "priority_kept": priority_kept,
            }
        )

    def _reject(self, events: list[dict], oid: object, reason: str) -> None:
        self._seq += 1
        events.append(
            {"type": "rejected", "seq": self._seq, "id": oid if type(oid) is str else None, "reason": reason}
        )


def _lift(book: Book, order: Order) -> None:
    """Take a live order out of its book: a resting one from its side, a waiting stop from the stops."""
    if order.pending:
        book.stops.remove(order)
    else:
        (book.bids if order.is_buy else book.asks).remove(order)
