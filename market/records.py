"""The plain, immutable results the exchange service returns.

Integers inside (ticks, lots, GPUs, micro-dollars); instants as aware UTC datetimes. Each record that
carries a price also carries the instrument's ``tick_micros`` so callers can format it with
:func:`market.units.ticks_to_price` without another lookup.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache
from typing import Any, Generic, TypeVar

from market.units import from_epoch_us

R = TypeVar("R")


@cache
def _columns(record: type) -> tuple[tuple[str, str, str], ...]:
    """``(field, instant column, other instant column)`` of each field: an instant field ``x`` is
    stored as microseconds in ``x_us`` (``created_at``: in ``created_us``)."""
    names = (f.name for f in fields(record))
    return tuple((n, f"{n}_us", (n[:-3] if n.endswith("_at") else n) + "_us") for n in names)


def record_of(record: type[R], row: Mapping[str, Any], **given: Any) -> R:
    """The ``record`` of a table row: each field is the one ``given``, or the row's column of the same
    name, or the instant of its microseconds column (``window_start`` <- ``window_start_us``,
    ``created_at`` <- ``created_us``); so a record never restates its table's columns."""
    values = {}
    for name, instant, short in _columns(record):
        if name in given:
            values[name] = given[name]
        elif name in row:
            values[name] = row[name]
        else:
            us = row[instant] if instant in row else row[short]
            values[name] = None if us is None else from_epoch_us(us)
    return record(**values)


@dataclass(frozen=True)
class AccountInfo:
    """An account and its roles (``admin``, ``provider``, ``trader``)."""

    id: str
    name: str
    roles: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True)
class CreatedAccount:
    """A new account and its first API key; the key is shown here once and never stored in clear."""

    account: AccountInfo
    api_key: str


@dataclass(frozen=True)
class ApiKeyInfo:
    """An API key as its owner sees it: never the key itself, only its prefix and what it may do."""

    prefix: str
    account_id: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class IssuedKey:
    """A new API key: shown here once, stored only as a digest."""

    info: ApiKeyInfo
    api_key: str


@dataclass(frozen=True)
class KeyHolder:
    """Who presented a key and what the key allows (its scopes)."""

    account: AccountInfo
    scopes: tuple[str, ...]
    prefix: str


@dataclass(frozen=True)
class Balances:
    """Cash in micro-dollars: ``cash = available + reserved + margin + collateral``; available never
    negative; ``collateral`` is a provider's performance collateral posted with its listings."""

    cash: int
    reserved: int
    margin: int
    available: int
    collateral: int = 0


@dataclass(frozen=True)
class TransferInfo:
    """A stored cash movement (deposit, withdrawal, ...) as seen by the account that asked for it."""

    id: int
    kind: str
    account_id: str | None
    amount_micros: int
    idempotency_key: str | None
    created_at: datetime


@dataclass(frozen=True)
class EntryInfo:
    """One leg of a transfer in an account's ledger (positive: into the bucket)."""

    id: int
    transfer_id: int
    kind: str
    bucket: str
    amount_micros: int
    ref: str | None
    created_at: datetime


@dataclass(frozen=True)
class ProductInfo:
    """A GPU class: its spec (``description``), region and the providers' collateral per GPU-day."""

    id: str
    description: str
    region: str | None
    collateral_per_gpu_day_micros: int = 0


@dataclass(frozen=True)
class InstrumentInfo:
    """A forward, an option on one, a pool's note or a basket fund's unit (a lot: one unit, priced per unit).

    ``multiplier_micros`` is the cash value of one tick on one lot: ``tick_micros x lot_gpus x hours``
    (a note: ``tick_micros x face_micros / 10^8``, its price being per 100 of face), so a price of
    ``p`` ticks on ``q`` lots has notional ``p x q x multiplier_micros``.
    """

    symbol: str
    product: str
    kind: str
    settlement: str
    window_kind: str
    window_start: datetime
    window_end: datetime
    hours: int
    tick_micros: int
    lot_gpus: int
    multiplier_micros: int
    status: str
    expiry: datetime
    underlying: str | None
    option_kind: str | None
    strike_ticks: int | None
    maker_fee_ppm: int
    taker_fee_ppm: int
    margin_per_lot_micros: int
    settle_price_micros: int | None
    face_micros: int | None = None
    """A pool note's face per lot now (None for every other kind)."""


@dataclass(frozen=True)
class ListingInfo:
    """Listed capacity and how much of it is committed, summed over the forwards it covers."""

    id: int
    provider_id: str
    product: str
    region: str | None
    gpus: int
    window_start: datetime
    window_end: datetime
    reserve_price_micros: int | None
    auto_offer: str
    spread_micros: int
    covers: tuple[str, ...]
    created_at: datetime
    spec: str | None = None
    collateral_micros: int = 0


@dataclass(frozen=True)
class OrderRequest:
    """A new order. Prices in ticks of the instrument (see :func:`market.units.price_to_ticks`).

    ``type``: ``limit``, ``market``, ``stop_limit``, ``stop_market``, ``trailing_stop_limit``,
    ``trailing_stop_market`` (``trail_ticks`` behind the best price since it was armed, optionally
    once a trade reaches ``activation_price_ticks``); ``tif``: ``gtc``, ``ioc``, ``fok``,
    ``gtd`` (needs ``expire_at``), by default ``ioc`` for market orders (which never rest) and ``gtc``
    otherwise; ``stp``: ``cancel_newest`` (default), ``cancel_oldest``,
    ``cancel_both``, ``decrement``, ``none``. ``reduce_only`` orders (IOC or FOK) may only shrink the
    account's position; they hold no margin, and are the only orders accepted during a margin call.

    A price may come instead as the decimal string the client wrote (``price``, ``stop_price``,
    ``trail``, ``activation_price``, USD per GPU-hour, as on the wire): :meth:`market.trading.Trading.priced`
    converts it with the instrument the books hold (``off_tick``, ``invalid_amount`` name the field),
    so a caller needs no tick first. Giving both forms of one price is ``invalid_request``.
    """

    symbol: str
    side: str
    qty: int
    type: str = "limit"
    price_ticks: int | None = None
    tif: str | None = None
    post_only: bool = False
    client_order_id: str | None = None
    stp: str = "cancel_newest"
    expire_at: datetime | None = None
    display_qty: int | None = None
    stop_price_ticks: int | None = None
    reduce_only: bool = False
    trail_ticks: int | None = None
    activation_price_ticks: int | None = None
    price: str | None = None
    stop_price: str | None = None
    trail: str | None = None
    activation_price: str | None = None


DECIMAL_PRICES = ("price", "stop_price", "trail", "activation_price")
"""The fields of :class:`OrderRequest` that may carry a decimal price; each has a ``<name>_ticks`` twin."""


@dataclass(frozen=True)
class FillInfo:
    """One fill of an order from the point of view of one account."""

    trade_id: int
    order_id: str
    symbol: str
    side: str
    price_ticks: int
    qty: int
    liquidity: str  # "maker" or "taker"
    fee_micros: int
    tick_micros: int
    created_at: datetime


@dataclass(frozen=True)
class OrderInfo:
    """An order and what became of it. ``filled + cancelled + open_qty == qty``.

    ``status``: ``open``, ``partially_filled``, ``filled``, ``cancelled``, ``expired`` or ``rejected``
    (then ``reason`` holds the engine's code); stops waiting for their trigger are ``open``, and
    ``triggered`` says whether a stop's trigger was reached.
    """

    id: str
    account_id: str
    symbol: str
    client_order_id: str | None
    side: str
    type: str
    price_ticks: int | None
    stop_price_ticks: int | None  # a trailing stop's current trigger (None until it is armed)
    trail_ticks: int | None
    activation_price_ticks: int | None
    link_id: str | None  # the one-cancels-other pair the order was placed in
    qty: int
    open_qty: int
    filled: int
    cancelled: int
    status: str
    reason: str | None
    triggered: bool
    tif: str
    post_only: bool
    stp: str
    expire_at: datetime | None
    display_qty: int | None
    reserved_micros: int
    tick_micros: int
    fills: tuple[FillInfo, ...]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class TradeInfo:
    """A public trade."""

    id: int
    symbol: str
    price_ticks: int
    qty: int
    taker_side: str
    tick_micros: int
    created_at: datetime


@dataclass(frozen=True)
class BookLevel:
    """One price level: total open and displayed quantity, and the number of orders."""

    price_ticks: int
    qty: int
    visible: int
    orders: int


@dataclass(frozen=True)
class BookInfo:
    """An order book snapshot, best levels first; ``seq`` is the engine sequence it reflects."""

    symbol: str
    seq: int
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]
    last_ticks: int | None
    tick_micros: int


@dataclass(frozen=True)
class PositionPnl:
    """A position's P&L (micro-dollars; prices per GPU-hour): the average price of the open lots, the
    mark, realised P&L (net of the fees, a settlement's or an option's payoff included) and
    unrealised P&L, and the fees its trades cost (see :mod:`market.pnl`)."""

    average_price_micros: int | None
    mark_micros: int | None
    realised_micros: int
    unrealised_micros: int
    fees_micros: int = 0


@dataclass(frozen=True)
class PositionInfo:
    """A net position (long positive) with its signed cost, the margin held for it, the variation
    margin it has received (paid: negative; cash forwards and options, settled to their marks), whether
    it is ``open`` (lots held in a live instrument) or ``closed`` (flat, or settled), and its P&L."""

    account_id: str
    symbol: str
    qty: int
    cost_micros: int
    margin_micros: int
    variation_micros: int
    tick_micros: int
    state: str = "open"
    pnl: PositionPnl | None = None


@dataclass(frozen=True)
class DeliveryDayInfo:
    """One UTC day of a delivery: its escrow and what became of it (see :mod:`market.delivery`)."""

    day: datetime
    escrow_micros: int
    status: str
    reason: str | None
    collateral_micros: int
    decided_at: datetime | None


@dataclass(frozen=True)
class DeliveryInfo:
    """GPUs of one listing allocated to a buyer for a physical forward's window: where (region), how
    to reach them (``access_handle``, attached by the provider), the escrow owed for them and its
    days; ``alert`` warns the provider of a missing handle."""

    id: int
    symbol: str
    buyer_id: str
    provider_id: str
    listing_id: int
    gpus: int
    window_start: datetime
    window_end: datetime
    created_at: datetime
    region: str | None
    escrow_micros: int
    access_handle: str | None
    handle_at: datetime | None
    alert: str | None
    days: tuple[DeliveryDayInfo, ...]
    endpoint: str | None = None


@dataclass(frozen=True)
class AccessAhead:
    """An access handle (and endpoint) a provider attached ahead of a forward's window for what one
    of its listings delivers there (:mod:`market.handoff`)."""

    listing_id: int
    symbol: str
    access_handle: str
    endpoint: str | None
    attached_at: datetime


@dataclass(frozen=True)
class UpcomingDelivery:
    """A delivery as it would be allocated if trading closed now (provisional until delivery start,
    as positions can still change): who delivers what to whom, where, the escrow owed and the access
    handle if the provider attached one ahead; ``alert`` while it has not."""

    symbol: str
    buyer_id: str
    provider_id: str
    listing_id: int
    gpus: int
    window_start: datetime
    window_end: datetime
    region: str | None
    escrow_micros: int
    access_handle: str | None
    endpoint: str | None
    alert: str | None


@dataclass(frozen=True)
class InventoryLine:
    """A provider's GPUs in one physical forward: listed, sold, offered (resting sells) and free to
    offer (also free on every day of the window), and the escrow owed to it there (micro-dollars)."""

    symbol: str
    status: str
    listed_gpus: int
    sold_gpus: int
    offered_gpus: int
    free_gpus: int
    receivable_micros: int


@dataclass(frozen=True)
class InventoryView:
    """A provider's inventory per forward for one listing (``listing_id``) or all of them (None),
    with what it is owed and the collateral it has posted."""

    provider_id: str
    listing_id: int | None
    forwards: tuple[InventoryLine, ...]
    receivable_micros: int
    collateral_micros: int


@dataclass(frozen=True)
class DeliveryReport:
    """What one run of the delivery duty did: days failed for want of an access handle, days
    accepted undisputed, collateral released (micro-dollars)."""

    failed: int
    accepted: int
    collateral_released_micros: int
    changed: tuple[int, ...] = ()  # the deliveries a day of which failed or was accepted


@dataclass(frozen=True)
class FixingInfo:
    """An index observation in micro-dollars per GPU-hour; ``revision`` counts corrections, and a
    superseded revision says when it was replaced."""

    product: str
    at: datetime
    price_micros: int
    source: str
    revision: int = 1
    superseded_at: datetime | None = None


@dataclass(frozen=True)
class FixingsStored:
    """What storing a batch of fixings did: new instants added, stored ones revised (corrected)."""

    added: int
    revised: int


@dataclass(frozen=True)
class MarkInfo:
    """The pricing core's view of an instrument: fair value per GPU-hour and Greeks."""

    symbol: str
    fair_value_micros: int
    forward_micros: int
    greeks: dict[str, float] | None
    model: dict[str, object]
    as_of: datetime
    index_as_of: datetime | None = None  # the latest fixing the mark rests on
    stale: bool = False  # the index is older than the product's plan allows
    model_name: str = "gbm"  # the product's market model (market.models): selected or the fallback
    model_source: str = "fallback"  # "selected" or "fallback"
    calibrated_at: datetime | None = None  # the last observation its parameters were fitted on


@dataclass(frozen=True)
class ModelInfo:
    """A product's market model (``market.models``): which model, how it was chosen and when.

    ``source`` is ``selected`` (best out-of-sample mean CRPS among the candidates the pricing engine
    accepts) or ``fallback`` (the lognormal rule of ``market.marks``; ``reason`` says why).
    ``params`` is the pricing MODEL object as calibrated, valued at ``calibrated_at``; ``score`` the
    chosen candidate's out-of-sample record (``crps``, ``pinball``, ``coverage`` by level, ``n``) and
    ``ranking`` every candidate's; ``calibration`` its standard errors, flags and diagnostics;
    ``settings`` the backtest's (horizons, training window, origins, data span).
    """

    product: str
    source: str
    model: str
    params: dict[str, object]
    calibrated_at: datetime | None
    refreshed_at: datetime | None
    observations: int
    reason: str | None = None
    score: dict[str, object] | None = None
    ranking: tuple[dict[str, object], ...] = ()
    calibration: dict[str, object] | None = None
    settings: dict[str, object] | None = None


@dataclass(frozen=True)
class SettlementReport:
    """What one run of the settlement cycle did (empty lists when nothing was due)."""

    expired: tuple[str, ...]
    delivered: tuple[str, ...]
    cash_settled: tuple[str, ...]
    exercised: tuple[str, ...]


@dataclass(frozen=True)
class CancelTimerInfo:
    """An account's dead-man switch: armed while ``deadline`` is set (``timeout_seconds`` after the
    last renewal, ``armed_at``); ``fired_at`` and ``cancelled`` (order ids) tell what it last did."""

    account_id: str
    timeout_seconds: int
    deadline: datetime | None
    armed_at: datetime | None
    fired_at: datetime | None
    cancelled: tuple[str, ...]


@dataclass(frozen=True)
class Changes:
    """What one commit of order entry changed, as committed (built inside the transaction, under the
    books' lock, by :func:`market.changes.changes_of`), so whoever tells others about it -- the API's
    stream -- reads nothing back.

    ``orders``: every order the commit created or changed (resting orders it filled, stops it
    triggered, good-till-date orders it expired), then the other legs of their one-cancels-other pairs,
    each with all its fills; ``trades``: its market trades, by id; ``books``: the book of each symbol
    in ``orders``; ``since_trade_id``: the newest trade id before the commit (0 if none), so a reader
    can tell whether trades of commits it was not told about came in between.
    """

    orders: tuple[OrderInfo, ...]
    trades: tuple[TradeInfo, ...]
    books: tuple[BookInfo, ...]
    since_trade_id: int

    @property
    def last_trade_id(self) -> int:
        """The newest trade id once the commit is in (``since_trade_id`` if it made no trade)."""
        return self.trades[-1].id if self.trades else self.since_trade_id

    def order(self, order_id: str) -> OrderInfo | None:
        """The order ``order_id`` as committed, if the commit changed it (or it is a changed one's leg)."""
        return next((o for o in self.orders if o.id == order_id), None)

    def book(self, symbol: str) -> BookInfo | None:
        """The book of ``symbol`` after the commit, if the commit moved it."""
        return next((b for b in self.books if b.symbol == symbol), None)


NO_CHANGES = Changes((), (), (), 0)
"""A commit that changed nothing."""


@dataclass(frozen=True)
class Committed(Generic[R]):
    """A use case's answer (``value``) and what its commit changed (``changes``)."""

    value: R
    changes: Changes


@dataclass(frozen=True)
class CancelSweep:
    """The orders a fired dead-man switch cancelled (after the commit), and the commit's changes."""

    account_id: str
    orders: tuple[OrderInfo, ...]
    changes: Changes = NO_CHANGES


@dataclass(frozen=True)
class StatementLine:
    """One business event on an account: the transfer (``id``), when, what (``kind``, ``ref``), the
    net change of the account's cash and the cash after it (micro-dollars), the instrument it concerns
    and the lots the account traded in it (signed, bought positive), where there are
    (:mod:`market.statements`)."""

    id: int
    at: datetime
    kind: str
    ref: str | None
    amount_micros: int
    balance_micros: int
    symbol: str | None = None
    qty: int | None = None


@dataclass(frozen=True)
class Statement:
    """An account's events over ``[start, end)`` with the cash before (``opening``) and after
    (``closing``); ``more``: the period holds more lines than were asked for."""

    account_id: str
    start: datetime | None
    end: datetime | None
    opening_micros: int
    closing_micros: int
    lines: tuple[StatementLine, ...]
    more: bool
