"""Order flow: validate a command, hold what it needs, run it through the matching engine and turn
the engine's events into order, trade, ledger, position and inventory changes.

What an order holds while it rests (``reserve_per_lot`` micro-dollars per open lot):

* a buy of a physical forward or a pool note: the notional at its limit price plus the larger fee
  rate (a market buy: at the worst price it reaches; an IOC one takes only the lots available cash
  covers, the rest expiring as ``insufficient_funds``);
* a buy or sell of a cash-settled forward or of an option (futures-style, :mod:`market.contracts`):
  the instrument's initial margin per lot;
* a sell of a physical forward: no cash but ``qty x lot_gpus`` GPUs of unsold inventory -- unless
  the seller is long there: a reduce-only **resale**, any role, paid at the trade like a premium
  (an IOC market sell takes what inventory or holding allows, the rest ``inventory_exceeded``).

At a trade the filled lots' hold is released and the trade's real cash flows are booked: a physical
buyer pays the notional into escrow (the provider is paid at delivery); a note buyer pays its seller;
cash-settled forwards and options move no cash (their fees fall due at settlement; marks settle
them as variation margin). Positions then hold the
margin their size requires (see :mod:`market.margin`). Every hold is released exactly when lots stop
being open (cancel, expiry, self-trade prevention, amend down), so ``reserved`` always equals the sum
of open orders' holds.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from functools import partial

from market import depth
from market.accounts import PROVIDER, TRADER
from market.clearing import calls
from market.contracts import fee
from market.errors import (
    BookElsewhereError,
    DuplicateClientOrderIdError,
    ForbiddenError,
    InstrumentNotOpenError,
    InsufficientFundsError,
    InvalidQuantityError,
    InvalidRequestError,
    InventoryExceededError,
    NoMarkError,
    NotFoundError,
    OrderClosedError,
    RecoveryMismatchError,
    UnknownInstrumentError,
)
from market.instruments import Instrument
from market.ledger import AVAILABLE, ESCROW, FEES, RESERVED, SYSTEM
from market.limits import check_open_orders
from market.listings import whole_days
from market.margin import book_trade
from market.order_rules import MAX_QTY, check_ticks, validate
from market.partitions import ALL, PartitionedEngine
from market.records import DECIMAL_PRICES, OrderRequest
from market.store import UnitOfWork, dumps
from market.tables import Order
from market.units import MAX_MICROS, micros_to_dollars, price_to_ticks, to_epoch_us
from market.vocabulary import LIMIT_TYPES


def request_hash(request: OrderRequest) -> str:
    """A digest of everything that defines an order, to recognise a resent ``client_order_id``."""
    fields = dict(request.__dict__)
    for name in ("reduce_only", "trail_ticks", "activation_price_ticks", *DECIMAL_PRICES):
        if not fields[name]:
            del fields[name]  # orders from before these existed keep their digests
    fields["expire_at"] = None if request.expire_at is None else to_epoch_us(request.expire_at)
    return hashlib.sha256(dumps(fields).encode()).hexdigest()


class Trading:
    """The books (one engine per partition, :mod:`market.partitions`) plus the live-order state the
    service keeps in memory.

    Only the service instance holding the books' locks uses this; after a failed transaction the service
    rebuilds it from the database (:meth:`market.service.Exchange.start`). ``holds_all`` is false for a
    shard; its ``elsewhere`` names the product of a book another process holds, its ``note_now`` reads
    a note as stored now (the elected shard services pools: :func:`market.securitization.notes.current`)."""

    def __init__(self, holds_all: bool = True) -> None:
        self.engine = PartitionedEngine(holds_all)
        self.holds_all = holds_all
        self.instruments: dict[str, Instrument] = {}
        self.live: dict[str, dict] = {}  # order id -> row, for every order the engine holds
        self.refused: set[str] = set()  # books whose recovery check failed
        self.clocks: Counter[str] = Counter()  # partition -> the engine clock's last tick
        self._gtd_live: Counter[str] = Counter()  # partition -> live good-till-date orders
        self.open_orders: Counter[str] = Counter()  # account id -> live orders, kept with ``live``
        self.max_open_orders: int | None = None
        self.elsewhere: Callable[[str], str | None] | None = None
        self.note_now: Callable[[UnitOfWork, Trading, str], Instrument] | None = None
        self.split: frozenset[str] = frozenset()  # products whose books are partitions of their own

    def recount(self) -> None:
        """Recompute derived counters after the live orders were loaded from the database."""
        part = self.engine.partition_of
        self._gtd_live = Counter(part(o) for o in self.live.values() if o["tif"] == "gtd")
        self.open_orders = Counter(o["account_id"] for o in self.live.values())

    # ------------------------------------------------------------------ instruments

    def add_instrument(self, instrument: Instrument) -> None:
        """Open (an empty) book for an instrument, in its product's partition if that is split off."""
        self.instruments[instrument.symbol] = instrument
        product = instrument.product
        self.engine.add_instrument(instrument.symbol, product if product in self.split else ALL)

    def revise(self, symbol: str, **changes: object) -> Instrument:
        """Replace the instrument ``symbol`` by a copy with ``changes`` (its status, margin per lot,
        settlement price or face) and return it: the caller writes the same change to the database in
        its transaction; if that fails, the books are rebuilt from the database."""
        revised = replace(self.instruments[symbol], **changes)
        self.instruments[symbol] = revised
        return revised

    def instrument(self, symbol: str) -> Instrument:
        """The instrument; :class:`UnknownInstrumentError` if there is none."""
        row = self.instruments.get(symbol) if isinstance(symbol, str) else None
        if row is None:
            self._check_elsewhere(symbol)
            raise UnknownInstrumentError(f"no instrument {symbol!r}", field="symbol")
        return row

    def priced(self, req: OrderRequest) -> OrderRequest:
        """``req`` with its decimal prices converted to ticks of its instrument (the request itself if
        it has none): ``unknown_instrument``, then ``invalid_amount``/``off_tick`` naming the field,
        in the order ``price``, ``stop_price``, ``trail``, ``activation_price``."""
        given = {name: text for name in DECIMAL_PRICES if (text := getattr(req, name)) is not None}
        if not given:
            return req
        tick = self.instrument(req.symbol).tick_micros
        changes: dict[str, object] = {}
        for name, text in given.items():
            if getattr(req, f"{name}_ticks") is not None:
                raise InvalidRequestError(f"give {name} as a decimal or in ticks, not both", field=name)
            changes[f"{name}_ticks"] = price_to_ticks(text, tick, name)
            changes[name] = None
        return replace(req, **changes)

    def _check_elsewhere(self, symbol: object) -> None:
        """Raise ``book_elsewhere`` when another process holds the book of ``symbol``."""
        if self.elsewhere is not None and isinstance(symbol, str) and (product := self.elsewhere(symbol)):
            raise BookElsewhereError(f"the book of {symbol} is held by the shard of {product}", product)

    def hold_per_lot(self, instrument: Instrument, side: str, price_ticks: int | None) -> int:
        """Micro-dollars an open lot holds (see the module docstring)."""
        if side == "buy" and instrument.pays_premium:
            notional = (price_ticks or 0) * instrument.multiplier
            return notional + fee(notional, max(instrument.maker_fee_ppm, instrument.taker_fee_ppm))
        if instrument.kind in ("note", "unit") or instrument.is_physical:
            return 0  # a note's or unit's sell is covered by the lots held (see sellable_notes)
        if instrument.margin_per_lot <= 0:  # a cash forward or an option, either side
            message = f"{instrument.symbol} has no margin yet: post index fixings and refresh marks"
            raise NoMarkError(message)
        return instrument.margin_per_lot

    # ------------------------------------------------------------------ commands

    def new_order(self, uow: UnitOfWork, account_id: str, roles: tuple[str, ...], req: OrderRequest) -> dict:
        """Validate, hold and run a new order; returns its row (``status`` ``rejected`` if the engine
        refused it). A resent ``client_order_id`` with the same order returns the original row."""
        req, digest, existing = self.resent(uow, account_id, req)
        if existing is not None:
            return existing
        row, command = self.admit(uow, account_id, roles, req, digest)
        self.apply(uow, command)
        lots = row["qty"]
        if lots < req.qty:  # the lots beyond the account's means expire at once, saying why
            physical = self.instruments[req.symbol].is_physical
            short = "insufficient_funds" if req.side == "buy" or not physical else "inventory_exceeded"
            row.update(qty=req.qty, cancelled=row["cancelled"] + req.qty - lots, reason=short)
            row["status"] = "expired" if row["status"] == "filled" else row["status"]
            uow.touch(row)
        uow.ledger.post("order", account_id=account_id, ref=row["id"])
        return row

    def resent(
        self, uow: UnitOfWork, account_id: str, req: OrderRequest
    ) -> tuple[OrderRequest, str, dict | None]:
        """The request with its default time in force, its digest, and the row of the same order sent
        before under its ``client_order_id`` (``duplicate_client_order_id`` if that was another order).
        Decimal prices are converted first (:meth:`priced`), so the digest is of ticks, as it always was."""
        req = self.priced(req)
        if req.tif is None:
            req = replace(req, tif="ioc" if req.type == "market" else "gtc")
        digest = "" if req.client_order_id is None else request_hash(req)  # only resends are compared
        existing = None
        if req.client_order_id is not None:
            existing = self._by_client_id(uow, account_id, req.client_order_id)
            if existing is not None and existing["request_hash"] != digest:
                raise DuplicateClientOrderIdError(
                    f"client_order_id {req.client_order_id!r} was used for a different order",
                    field="client_order_id",
                )
        return req, digest, existing

    def admit(
        self, uow: UnitOfWork, account_id: str, roles: tuple[str, ...], req: OrderRequest, digest: str
    ) -> tuple[dict, dict]:
        """Check an order against the account and hold what it needs; its new row and the engine
        command that will run it (the caller applies it, alone or as a leg of a pair)."""
        inst = self._tradable(uow, req.symbol)
        validate(req, uow.now_us)
        held = None if self.holds_all else {i.product for i in self.instruments.values()}
        check_open_orders(uow, account_id, self.max_open_orders, self.open_orders[account_id], held)
        _check_notional(inst, req.price_ticks, req.qty)
        calls.check_order(uow, account_id, req)
        if req.tif == "gtd":
            self.advance(uow, force=req.symbol)
        physical = inst.is_physical
        resale = physical and req.side == "sell" and uow.position_qty(account_id, req.symbol) > 0
        # lots sent to the book: an IOC market order fills what cash, margin and inventory allow
        lots, within_means = req.qty, req.type == "market" and req.tif == "ioc"
        if resale:
            need = {TRADER, PROVIDER}
            if within_means:
                lots = min(lots, max(self.resale_free(uow, account_id, req.symbol), 0)) or lots
            self.resale_free(uow, account_id, req.symbol, lots)
        elif physical and req.side == "sell":
            need = {PROVIDER}
        elif physical or inst.kind in ("note", "unit"):
            need = {TRADER, PROVIDER}
        else:
            need = {TRADER}
        if not need & set(roles):
            raise ForbiddenError(f"{req.side} on {req.symbol} needs the role {' or '.join(sorted(need))}")
        if req.side == "buy" and inst.pays_premium and req.type in ("stop_market", "trailing_stop_market"):
            raise InvalidRequestError(
                f"a {req.type} buy has no price to hold cash against: use a stop limit", field="type"
            )
        cash = uow.ledger.balance(account_id, AVAILABLE) if within_means else 0
        if req.type == "market" and req.side == "buy" and inst.pays_premium:
            asks = self.engine.snapshot(req.symbol)["asks"]
            if within_means:
                buy_hold = partial(self.hold_per_lot, inst, "buy")
                lots = depth.affordable(asks, account_id, req.qty, cash, buy_hold)
            per_lot = self.hold_per_lot(inst, "buy", depth.worst_ask(asks, account_id, lots))
        else:
            per_lot = self.hold_per_lot(inst, req.side, req.price_ticks)
            if within_means and per_lot and not req.reduce_only:  # margined: the lots the margin allows
                lots = min(lots, cash // per_lot) or lots
        if req.reduce_only and not (req.side == "buy" and inst.pays_premium):
            per_lot = 0  # closing lots releases their position's margin: nothing more to hold
        gpus = lots * inst.lot_gpus if physical and req.side == "sell" and not resale else 0
        if gpus:
            free = self.offerable_gpus(uow, inst, account_id)
            if within_means and free // inst.lot_gpus and gpus > free:  # sell what is free
                lots = free // inst.lot_gpus
                gpus = lots * inst.lot_gpus
            if gpus > free:
                raise InventoryExceededError(
                    f"selling {gpus} GPUs of {req.symbol} needs listed capacity; {free} unsold",
                    field="quantity",
                )
        if inst.kind in ("note", "unit") and req.side == "sell":
            free = self.sellable_notes(uow, inst.symbol, account_id)
            if req.qty > free:
                raise InventoryExceededError(
                    f"selling {req.qty} lots of {req.symbol} needs them held; {free} held and not offered",
                    field="quantity",
                )
        uow.ledger.move((account_id, AVAILABLE), (account_id, RESERVED), per_lot * lots, "the order")
        if gpus:
            self._hold_gpus(uow, inst, account_id, gpus)
        order_id = secrets.token_hex(10)
        expire_us = None if req.expire_at is None else to_epoch_us(req.expire_at)
        row = {
            "id": order_id,
            "account_id": account_id,
            "symbol": req.symbol,
            "client_order_id": req.client_order_id,
            "request_hash": digest,
            "side": req.side,
            "type": req.type,
            "price_ticks": req.price_ticks,
            "stop_price_ticks": req.stop_price_ticks,
            "trail_ticks": req.trail_ticks,
            "activation_price_ticks": req.activation_price_ticks,
            "link_id": None,
            "qty": lots,
            "open_qty": lots,
            "filled": 0,
            "cancelled": 0,
            "status": "open",
            "reason": None,
            "triggered": False,
            "tif": req.tif,
            "post_only": req.post_only,
            "stp": req.stp,
            "expire_at_us": expire_us,
            "display_qty": req.display_qty,
            "reserve_per_lot": per_lot,
            "reserved_micros": per_lot * lots,
            "reserved_gpus": gpus,
            "created_us": uow.now_us,
            "updated_us": uow.now_us,
        }
        uow.new_orders[order_id] = row
        command = {
            "op": "new",
            "symbol": req.symbol,
            "id": order_id,
            "account": account_id,
            "side": req.side,
            "type": req.type,
            "qty": lots,
            "tif": req.tif,
            "post_only": req.post_only,
            "stp": req.stp,
        }
        for key, value in (
            ("price", req.price_ticks),
            ("stop_price", req.stop_price_ticks),
            ("display_qty", req.display_qty),
            ("expire_at", expire_us),
            ("trail", req.trail_ticks),
            ("activation_price", req.activation_price_ticks),
        ):
            if value is not None:
                command[key] = value
        return row, command

    def cancel(self, uow: UnitOfWork, account_id: str, order_id: str) -> tuple[dict, str | None]:
        """Cancel a live order of ``account_id``; returns its row and the engine's rejection, if any."""
        order = self._own_live(uow, account_id, order_id)
        command = {"op": "cancel", "symbol": order["symbol"], "id": order_id, "account": account_id}
        events = self.apply(uow, command)
        uow.ledger.post("cancel", account_id=account_id, ref=order_id)
        return order, _rejection(events)

    def amend(
        self,
        uow: UnitOfWork,
        account_id: str,
        order_id: str,
        qty: int | None,
        price_ticks: int | None,
        price: str | None = None,
    ) -> tuple[dict, str | None]:
        """Change a live order's open quantity and/or price (holding more first if it needs more).
        A ``price`` given as a decimal string (the API's) is converted with the order's instrument."""
        order = self._own_live(uow, account_id, order_id)
        inst = self._tradable(uow, order["symbol"])
        if price is not None:
            if price_ticks is not None:  # as Trading.priced refuses it for a new order
                raise InvalidRequestError("give price as a decimal or in ticks, not both", field="price")
            price_ticks = price_to_ticks(price, inst.tick_micros, "price")
        if qty is None and price_ticks is None:
            raise InvalidRequestError("an amend changes the quantity, the price or both", field="quantity")
        if qty is not None and (type(qty) is not int or not 0 < qty <= MAX_QTY):
            raise InvalidQuantityError("quantity must be a positive whole number of lots", field="quantity")
        if price_ticks is not None:
            if order["type"] not in LIMIT_TYPES:
                raise InvalidRequestError("only limit orders have a price to amend", field="price")
            check_ticks(price_ticks, "price")
        new_open = order["open_qty"] if qty is None else qty
        if new_open > order["open_qty"]:
            calls.refuse_more_risk(uow, account_id)
        new_price = order["price_ticks"] if price_ticks is None else price_ticks
        _check_notional(inst, new_price, new_open)
        extra = new_open * self._amended_hold(inst, order, new_price) - order["reserved_micros"]
        if extra > uow.ledger.balance(account_id, AVAILABLE):
            raise InsufficientFundsError(f"the amended order needs USD {micros_to_dollars(extra)} more")
        if new_open > order["open_qty"] and self.is_resale(order):
            self.resale_free(uow, account_id, order["symbol"], new_open - order["open_qty"])
        if order["reserved_gpus"] and new_open > order["open_qty"]:
            more = (new_open - order["open_qty"]) * inst.lot_gpus
            free = self.offerable_gpus(uow, inst, account_id)
            if more > free:
                raise InventoryExceededError(f"{more} more GPUs exceed the {free} unsold", field="quantity")
        command = {"op": "amend", "symbol": order["symbol"], "id": order_id, "account": account_id}
        if qty is not None:
            command["qty"] = qty
        if price_ticks is not None:
            command["price"] = price_ticks
        events = self.apply(uow, command)
        uow.ledger.post("amend", account_id=account_id, ref=order_id)
        return order, _rejection(events)

    def is_resale(self, order: dict) -> bool:
        """Whether a live order is a resale: a physical sell holding no inventory."""
        inst = self.instruments[order["symbol"]]
        return inst.is_physical and order["side"] == "sell" and not order["reserved_gpus"]

    def resale_free(self, uow: UnitOfWork, account_id: str, symbol: str, lots: int = 0) -> int:
        """Lots held long in ``symbol`` not yet offered for resale; refuses a resale of ``lots`` more."""
        mine = (o for o in self.live.values() if o["account_id"] == account_id and o["symbol"] == symbol)
        free = uow.position_qty(account_id, symbol) - sum(o["open_qty"] for o in mine if self.is_resale(o))
        if lots > free:
            raise InventoryExceededError(
                f"reselling {lots} lots of {symbol} exceeds what you hold and do not already offer: {free}",
                field="quantity",
            )
        return free

    @staticmethod
    def _days(instrument: Instrument) -> list[int]:
        return whole_days(instrument.window_start_us, instrument.window_end_us)

    def sellable_notes(self, uow: UnitOfWork, symbol: str, account_id: str) -> int:
        """Lots ``account_id`` holds and does not already offer (notes and units are never sold short)."""
        offered = sum(
            o["open_qty"]
            for o in self.live.values()
            if o["symbol"] == symbol and o["account_id"] == account_id and o["side"] == "sell"
        )
        return uow.position_qty(account_id, symbol) - offered

    def offerable_gpus(self, uow: UnitOfWork, instrument: Instrument, provider_id: str) -> int:
        """GPUs the provider may still offer in a physical forward: free in its inventory there and
        on every day of the window (overlapping forwards share the days)."""
        inventory = uow.inventory(instrument.symbol, provider_id)
        if inventory is None:
            return 0
        days = self._days(instrument)
        rows = uow.capacity(provider_id, instrument.product, days)
        if len(rows) < len(days):
            return 0
        free = inventory["listed_gpus"] - inventory["sold_gpus"] - inventory["reserved_gpus"]
        return min([free] + [r["listed_gpus"] - r["committed_gpus"] for r in rows])

    def _hold_gpus(self, uow: UnitOfWork, instrument: Instrument, provider_id: str, gpus: int) -> None:
        """Hold (negative: release) GPUs for resting sells, in the forward and on each day it covers."""
        uow.inventory(instrument.symbol, provider_id)["reserved_gpus"] += gpus
        for row in uow.capacity(provider_id, instrument.product, self._days(instrument)):
            row["committed_gpus"] += gpus

    def _amended_hold(self, instrument: Instrument, order: dict, price_ticks: int) -> int:
        """The hold per lot of ``order`` at a new price (only premium-paying buys depend on it)."""
        if order["side"] == "buy" and instrument.pays_premium:
            return self.hold_per_lot(instrument, "buy", price_ticks)
        return order["reserve_per_lot"]

    def cancel_book(self, uow: UnitOfWork, symbol: str, reason: str) -> int:
        """Cancel every live order of a book (instrument expiry or halt); returns how many."""
        ids = [oid for oid, row in self.live.items() if row["symbol"] == symbol]
        for oid in ids:
            row = self.live.get(oid)
            if row is None:  # the other leg of a one-cancels-other pair cancelled just before
                continue
            self.apply(uow, {"op": "cancel", "symbol": symbol, "id": oid, "account": row["account_id"]})
            row["reason"] = reason
            uow.ledger.post("cancel", account_id=row["account_id"], ref=oid)
        return len(ids)

    def advance(self, uow: UnitOfWork, *, force: str | None = None) -> None:
        """Move each partition's engine clock to the transaction's time, expiring good-till-date
        orders that are due.

        A partition ticks only while a GTD order is live in it (or about to be placed in the book
        ``force``) so the command log does not fill with clock ticks nobody needs. A tick of a
        product's partition names it (``partition``); the single writer's tick stays as it was.
        """
        forced = force and self.engine.partition_of({"symbol": force})
        for part in self.engine.partitions():
            if uow.now_us > self.clocks[part] and (part == forced or self._gtd_live[part]):
                self.clocks[part] = uow.now_us
                tick = {"op": "time", "now": uow.now_us}
                self.apply(uow, tick if part == ALL else {**tick, "partition": part})
                uow.ledger.post("expiry")

    # ------------------------------------------------------------------ the engine and its events

    def apply(self, uow: UnitOfWork, command: dict) -> list[dict]:
        """Run one command through the engine, log it and book its events."""
        partition = self.engine.partition_of(command)
        events = self.engine.apply(command, partition)
        uow.log(command, events, partition)
        for event in events:
            getattr(self, "_on_" + event["type"])(uow, event)
        return events

    def _order(self, uow: UnitOfWork, order_id: str) -> dict:
        row = uow.new_orders.get(order_id) or self.live.get(order_id)
        if row is None:
            raise RuntimeError(f"engine event for an order the service does not hold: {order_id}")
        return row

    def _release(self, uow: UnitOfWork, order: dict, lots: int, gpus_too: bool = True) -> None:
        """Give back the hold of ``lots`` lots that stopped being open."""
        amount = order["reserve_per_lot"] * lots
        if amount:
            account = order["account_id"]
            uow.ledger.move((account, RESERVED), (account, AVAILABLE), amount)
            order["reserved_micros"] -= amount
        if gpus_too and order["reserved_gpus"]:
            inst = self.instruments[order["symbol"]]
            gpus = lots * inst.lot_gpus
            self._hold_gpus(uow, inst, order["account_id"], -gpus)
            order["reserved_gpus"] -= gpus

    def _close(self, uow: UnitOfWork, order: dict, status: str, reason: str | None) -> None:
        order["status"] = status
        if reason is not None:
            order["reason"] = order["reason"] or reason
        if self.live.pop(order["id"], None) is not None:
            self.open_orders[order["account_id"]] -= 1
            if not self.open_orders[order["account_id"]]:
                del self.open_orders[order["account_id"]]
            if order["tif"] == "gtd":
                self._gtd_live[self.engine.partition_of(order)] -= 1
        uow.touch(order)

    def _on_accepted(self, uow: UnitOfWork, event: dict) -> None:
        order = self._order(uow, event["id"])
        if order["id"] not in self.live:
            self.open_orders[order["account_id"]] += 1
        self.live[order["id"]] = order
        if order["tif"] == "gtd":
            self._gtd_live[self.engine.partition_of(order)] += 1

    def _on_rejected(self, uow: UnitOfWork, event: dict) -> None:
        order = uow.new_orders.get(event["id"]) if event["id"] else None
        if order is not None and order["status"] == "open" and order["id"] not in self.live:
            self._release(uow, order, order["open_qty"])
            order["cancelled"] += order["open_qty"]
            order["open_qty"] = 0
            self._close(uow, order, "rejected", event["reason"])

    def _on_resting(self, uow: UnitOfWork, event: dict) -> None:
        order = self._order(uow, event["id"])
        order["status"] = "partially_filled" if order["filled"] else "open"
        uow.touch(order)

    def _on_triggered(self, uow: UnitOfWork, event: dict) -> None:
        order = self._order(uow, event["id"])
        order["triggered"] = True
        uow.touch(order)

    def _on_trailed(self, uow: UnitOfWork, event: dict) -> None:
        order = self._order(uow, event["id"])
        order["stop_price_ticks"] = event["stop_price"]
        uow.touch(order)

    def _on_linked(self, uow: UnitOfWork, event: dict) -> None:
        for oid in event["ids"]:
            self._order(uow, oid)["link_id"] = event["link"]

    def _on_filled(self, uow: UnitOfWork, event: dict) -> None:
        self._close(uow, self._order(uow, event["id"]), "filled", None)

    def _shrink(self, uow: UnitOfWork, order: dict, lots: int) -> None:
        if lots:
            self._release(uow, order, lots)
            order["open_qty"] -= lots
            order["cancelled"] += lots

    def _on_cancelled(self, uow: UnitOfWork, event: dict) -> None:
        order = self._order(uow, event["id"])
        self._shrink(uow, order, event["qty"])
        self._close(uow, order, "cancelled", event["reason"])

    def _on_expired(self, uow: UnitOfWork, event: dict) -> None:
        order = self._order(uow, event["id"])
        self._shrink(uow, order, event["qty"])
        self._close(uow, order, "expired", event["reason"])

    def _on_reset(self, uow: UnitOfWork, event: dict) -> None:
        """A rebuilt book: every order the database holds live on it is cancelled, its hold released."""
        for order in [o for o in self.live.values() if o["symbol"] == event["symbol"]]:
            self._shrink(uow, order, order["open_qty"])
            self._close(uow, order, "cancelled", "book_rebuilt")
            uow.ledger.post("cancel", account_id=order["account_id"], ref=order["id"])

    def _on_decremented(self, uow: UnitOfWork, event: dict) -> None:
        for oid in (event["maker"], event["taker"]):
            order = self._order(uow, oid)
            self._shrink(uow, order, event["qty"])
            uow.touch(order)

    def _on_amended(self, uow: UnitOfWork, event: dict) -> None:
        order = self._order(uow, event["id"])
        inst = self.instruments[order["symbol"]]
        new_open, old_open = event["qty"], order["open_qty"]
        order["reserve_per_lot"] = self._amended_hold(inst, order, event["price"])
        order["price_ticks"] = event["price"]
        account = order["account_id"]
        target = new_open * order["reserve_per_lot"]
        uow.ledger.move((account, AVAILABLE), (account, RESERVED), target - order["reserved_micros"])
        order["reserved_micros"] = target
        if order["reserved_gpus"]:
            gpus = new_open * inst.lot_gpus
            self._hold_gpus(uow, inst, account, gpus - order["reserved_gpus"])
            order["reserved_gpus"] = gpus
        if new_open < old_open:
            order["cancelled"] += old_open - new_open
        else:
            order["qty"] += new_open - old_open
        order["open_qty"] = new_open
        uow.touch(order)

    def _on_trade(self, uow: UnitOfWork, event: dict) -> None:
        inst = self.instruments[event["symbol"]]
        qty, price = event["qty"], event["price"]
        notional = price * qty * inst.multiplier
        maker, taker = self._order(uow, event["maker"]), self._order(uow, event["taker"])
        for order in (maker, taker):
            self._release(uow, order, qty, gpus_too=False)
            order["filled"] += qty
            order["open_qty"] -= qty
            if order["status"] == "open":
                order["status"] = "partially_filled"
            uow.touch(order)
        buy, sell = (taker, maker) if event["taker_side"] == "buy" else (maker, taker)
        buyer, seller = buy["account_id"], sell["account_id"]
        buyer_fee = fee(notional, inst.taker_fee_ppm if buy is taker else inst.maker_fee_ppm)
        seller_fee = fee(notional, inst.taker_fee_ppm if sell is taker else inst.maker_fee_ppm)
        escrow = 0
        long, short = uow.position(buyer, inst.symbol), uow.position(seller, inst.symbol)
        resale = self.is_resale(sell)
        if inst.is_physical and not resale:
            uow.ledger.move((buyer, AVAILABLE), (SYSTEM, ESCROW), notional)
            uow.ledger.move((buyer, AVAILABLE), (SYSTEM, FEES), buyer_fee)
            uow.ledger.move((SYSTEM, ESCROW), (SYSTEM, FEES), seller_fee)
            escrow = notional - seller_fee
            gpus = qty * inst.lot_gpus
            inventory = uow.inventory(inst.symbol, seller)
            inventory["reserved_gpus"] -= gpus
            inventory["sold_gpus"] += gpus
            sell["reserved_gpus"] -= gpus
        elif not inst.pays_premium:  # a cash forward or an option: fees at settlement
            long["fees_due_micros"] += buyer_fee
            short["fees_due_micros"] += seller_fee
        else:  # a note, or a resale paid to the reseller at once
            uow.ledger.move((buyer, AVAILABLE), (seller, AVAILABLE), notional)
            uow.ledger.move((buyer, AVAILABLE), (SYSTEM, FEES), buyer_fee)
            uow.ledger.move((seller, AVAILABLE), (SYSTEM, FEES), seller_fee)
        book_trade(
            uow,
            inst,
            {
                "price_ticks": price,
                "qty": qty,
                "maker_order_id": maker["id"],
                "taker_order_id": taker["id"],
                "buyer_id": buyer,
                "seller_id": seller,
                "taker_side": event["taker_side"],
                "notional_micros": notional,
                "buyer_fee_micros": buyer_fee,
                "seller_fee_micros": seller_fee,
                "escrow_micros": escrow,
                "resale": resale,
                "engine_seq": event["seq"],
            },
        )

    # ------------------------------------------------------------------ checks
    def _tradable(self, uow: UnitOfWork, symbol: str) -> Instrument:
        inst = self.instrument(symbol)
        if inst.kind == "note" and self.note_now is not None:  # its face as the elected servicing left it
            inst = self.note_now(uow, self, symbol)
        if symbol in self.refused:
            raise RecoveryMismatchError(f"the book of {symbol} failed its recovery check and is closed")
        if inst.status != "open" or uow.now_us >= inst.expiry_us:
            raise InstrumentNotOpenError(f"{symbol} is {inst.status} and does not trade", field="symbol")
        return inst

    def _by_client_id(self, uow: UnitOfWork, account_id: str, client_order_id: str) -> dict | None:
        for row in uow.new_orders.values():
            if row["account_id"] == account_id and row["client_order_id"] == client_order_id:
                return row
        table = Order.__table__
        found = uow.connection.execute(
            table.select().where(table.c.account_id == account_id, table.c.client_order_id == client_order_id)
        ).one_or_none()
        return None if found is None else self.live.get(found.id, dict(found._mapping))

    def _own_live(self, uow: UnitOfWork, account_id: str, order_id: str) -> dict:
        order = uow.new_orders.get(order_id) or self.live.get(order_id)
        if order is None or order["account_id"] != account_id:
            table = Order.__table__
            found = uow.connection.execute(
                table.select().where(table.c.id == order_id, table.c.account_id == account_id)
            ).one_or_none()
            if found is None:
                raise NotFoundError(f"no order {order_id!r}", field="order_id")
            if found.symbol not in self.instruments:
                self._check_elsewhere(found.symbol)
            raise OrderClosedError(f"order {order_id} is {found.status}")
        if order["id"] not in self.live:
            raise OrderClosedError(f"order {order_id} is {order['status']}")
        return order


def _check_notional(instrument: Instrument, price_ticks: int | None, qty: int) -> None:
    """Refuse an order whose notional would not fit the 64-bit money columns."""
    if price_ticks is not None and price_ticks * qty * instrument.multiplier > MAX_MICROS:
        raise InvalidRequestError("price x quantity is beyond any real notional", field="quantity")


def _rejection(events: list[dict]) -> str | None:
    return next((e["reason"] for e in events if e["type"] == "rejected"), None)
