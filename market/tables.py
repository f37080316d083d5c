"""SQLModel tables of the exchange; importing this module registers them on ``SQLModel.metadata``.

Conventions: money in integer micro-dollars (``*_micros``), prices in integer ticks (``*_ticks``),
quantities in integer lots, capacity in GPUs, instants as integer microseconds since the Unix epoch in
UTC (``*_us``). Constraints the database can enforce are declared here so that a bug in the service
cannot write a negative balance or oversell inventory.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def _big(**kwargs: object) -> object:
    """A non-null BIGINT column (micro-dollars and microsecond instants overflow 32 bits)."""
    return Field(sa_type=sa.BigInteger, **kwargs)


class Account(SQLModel, table=True):
    """A participant; ``roles`` is a comma-separated subset of admin, provider, trader."""

    __tablename__ = "accounts"
    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=200, unique=True)
    roles: str = Field(max_length=100)
    created_us: int = _big()


class ApiKey(SQLModel, table=True):
    """An API key, stored only as its SHA-256 digest; ``prefix`` identifies it to humans."""

    __tablename__ = "api_keys"
    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(foreign_key="accounts.id", index=True, max_length=40)
    prefix: str = Field(max_length=16, unique=True)
    key_hash: str = Field(max_length=64, unique=True)
    created_us: int = _big()
    revoked_us: int | None = Field(default=None, sa_type=sa.BigInteger)
    scopes: str = Field(
        default="read,trade,transfer",
        max_length=40,
        sa_column_kwargs={"server_default": "read,trade,transfer"},
    )  # comma-separated subset of read, trade, transfer: what the key may do


class Balance(SQLModel, table=True):
    """The running balance of one ledger bucket; only system buckets may go negative."""

    __tablename__ = "balances"
    __table_args__ = (sa.CheckConstraint("amount >= 0 OR allow_negative", name="ck_balances_non_negative"),)
    owner: str = Field(primary_key=True, max_length=40)
    bucket: str = Field(primary_key=True, max_length=20)
    amount: int = _big(default=0)
    allow_negative: bool = Field(default=False)


class Transfer(SQLModel, table=True):
    """One movement of money; its entries sum to zero. Idempotency keys are unique per account."""

    __tablename__ = "transfers"
    __table_args__ = (sa.UniqueConstraint("account_id", "idempotency_key", name="uq_transfers_idempotency"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=30)
    account_id: str | None = Field(default=None, max_length=40, index=True)
    idempotency_key: str | None = Field(default=None, max_length=200)
    request_hash: str | None = Field(default=None, max_length=64)
    ref: str | None = Field(default=None, max_length=100)
    created_us: int = _big()


class Entry(SQLModel, table=True):
    """One leg of a transfer: ``amount`` micro-dollars into (positive) or out of a bucket."""

    __tablename__ = "entries"
    id: int | None = Field(default=None, primary_key=True)
    transfer_id: int = Field(foreign_key="transfers.id", index=True)
    owner: str = Field(max_length=40, index=True)
    bucket: str = Field(max_length=20)
    amount: int = _big()


class Product(SQLModel, table=True):
    """A GPU class, e.g. H100 (H100 SXM 80 GB), optionally tied to a region."""

    __tablename__ = "products"
    id: str = Field(primary_key=True, max_length=16)
    description: str = Field(default="", max_length=200)
    region: str | None = Field(default=None, max_length=40)
    created_us: int = _big()
    schedule: str | None = Field(default=None, max_length=1000)  # JSON series plan; None: the default
    collateral_per_gpu_day_micros: int = _big(default=0, sa_column_kwargs={"server_default": "0"})
    # performance collateral a provider posts per GPU-day it lists (see market.delivery)


class Instrument(SQLModel, table=True):
    """A tradable contract: a forward on a delivery window, or an option on one."""

    __tablename__ = "instruments"
    symbol: str = Field(primary_key=True, max_length=64)
    product: str = Field(foreign_key="products.id", index=True, max_length=16)
    kind: str = Field(max_length=10)
    settlement: str = Field(max_length=10)
    window_kind: str = Field(max_length=10)
    window_start_us: int = _big()
    window_end_us: int = _big()
    tick_micros: int = Field(default=1000)
    lot_gpus: int = Field(default=1)
    status: str = Field(default="open", max_length=10, index=True)
    underlying: str | None = Field(default=None, max_length=64)
    option_kind: str | None = Field(default=None, max_length=4)
    strike_ticks: int | None = Field(default=None, sa_type=sa.BigInteger)
    expiry_us: int = _big()
    maker_fee_ppm: int = Field(default=0)
    taker_fee_ppm: int = Field(default=0)
    margin_per_lot: int = _big(default=0)
    settle_price_micros: int | None = Field(default=None, sa_type=sa.BigInteger)
    created_us: int = _big()
    face_micros: int | None = Field(default=None, sa_type=sa.BigInteger)
    # a pool note's face per lot now (notes only; see market.securitization.notes)


class Listing(SQLModel, table=True):
    """Capacity a provider offers: ``gpus`` GPUs of a product for every hour of ``[start, end)``."""

    __tablename__ = "listings"
    __table_args__ = (sa.CheckConstraint("collateral_micros >= 0", name="ck_listings_collateral"),)
    id: int | None = Field(default=None, primary_key=True)
    provider_id: str = Field(foreign_key="accounts.id", index=True, max_length=40)
    product: str = Field(foreign_key="products.id", max_length=16)
    region: str | None = Field(default=None, max_length=40)
    spec: str | None = Field(default=None, max_length=200)
    gpus: int
    window_start_us: int = _big()
    window_end_us: int = _big()
    collateral_micros: int = _big(default=0, sa_column_kwargs={"server_default": "0"})
    reserve_price_micros: int | None = Field(default=None, sa_type=sa.BigInteger)
    auto_offer: str = Field(default="none", max_length=12)
    spread_micros: int = _big(default=0)
    created_us: int = _big()


class Inventory(SQLModel, table=True):
    """A provider's capacity in one physical forward, in GPUs: listed, sold and held by resting sells."""

    __tablename__ = "inventory"
    __table_args__ = (
        sa.CheckConstraint("sold_gpus + reserved_gpus <= listed_gpus", name="ck_inventory_covered"),
        sa.CheckConstraint("sold_gpus >= 0 AND reserved_gpus >= 0", name="ck_inventory_non_negative"),
    )
    symbol: str = Field(foreign_key="instruments.symbol", primary_key=True, max_length=64)
    provider_id: str = Field(foreign_key="accounts.id", primary_key=True, max_length=40)
    listed_gpus: int = Field(default=0)
    sold_gpus: int = Field(default=0)
    reserved_gpus: int = Field(default=0)


class Capacity(SQLModel, table=True):
    """A provider's GPUs of a product on one UTC day: listed (by listings covering the whole day) and
    committed (sold or held by resting sells in any physical forward covering the day).

    Forwards overlap (a month holds its weeks and days), so this per-day account is what stops the
    same GPU-hours from being sold twice through overlapping forwards.
    """

    __tablename__ = "capacity"
    __table_args__ = (
        sa.CheckConstraint("committed_gpus <= listed_gpus", name="ck_capacity_covered"),
        sa.CheckConstraint("committed_gpus >= 0", name="ck_capacity_non_negative"),
    )
    provider_id: str = Field(foreign_key="accounts.id", primary_key=True, max_length=40)
    product: str = Field(foreign_key="products.id", primary_key=True, max_length=16)
    day_us: int = Field(sa_type=sa.BigInteger, primary_key=True)
    listed_gpus: int = Field(default=0)
    committed_gpus: int = Field(default=0)


class Order(SQLModel, table=True):
    """An order as the service accepted it and as the engine's events left it.

    ``filled + cancelled + open = qty`` where ``cancelled`` counts lots closed without a fill (cancel,
    expiry, self-trade prevention) and ``open`` lots rest in the book. ``reserved_micros`` is the cash
    still held for the open part; ``reserved_gpus`` the inventory held by a resting physical sell.
    """

    __tablename__ = "orders"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "client_order_id", name="uq_orders_client_order_id"),
        sa.Index("ix_orders_account_status", "account_id", "status"),
    )
    id: str = Field(primary_key=True, max_length=32)
    account_id: str = Field(foreign_key="accounts.id", max_length=40)
    symbol: str = Field(foreign_key="instruments.symbol", index=True, max_length=64)
    client_order_id: str | None = Field(default=None, max_length=64)
    request_hash: str = Field(max_length=64)  # digest of the request when it has a client_order_id
    side: str = Field(max_length=4)
    type: str = Field(max_length=20)
    price_ticks: int | None = Field(default=None, sa_type=sa.BigInteger)
    stop_price_ticks: int | None = Field(
        default=None, sa_type=sa.BigInteger
    )  # a trailing stop's current trigger
    trail_ticks: int | None = Field(default=None, sa_type=sa.BigInteger)
    activation_price_ticks: int | None = Field(default=None, sa_type=sa.BigInteger)
    link_id: str | None = Field(default=None, max_length=32)  # the one-cancels-other pair it belongs to
    qty: int
    open_qty: int = Field(default=0)
    filled: int = Field(default=0)
    cancelled: int = Field(default=0)
    status: str = Field(max_length=16)
    reason: str | None = Field(default=None, max_length=40)
    triggered: bool = Field(default=False)
    tif: str = Field(max_length=4)
    post_only: bool = Field(default=False)
    stp: str = Field(max_length=16)
    expire_at_us: int | None = Field(default=None, sa_type=sa.BigInteger)
    display_qty: int | None = Field(default=None)
    reserve_per_lot: int = _big(default=0)
    reserved_micros: int = _big(default=0)
    reserved_gpus: int = Field(default=0)
    created_us: int = _big()
    updated_us: int = _big()


EXERCISE = "exercise"
"""``maker_order_id`` of an exercise trade: an option becoming a forward position, not a market trade."""
ISSUE = "issue"
"""``maker_order_id`` of an issue trade: a pool's new note handed to its sponsor, not a market trade."""
BASKET = "basket"
"""``maker_order_id`` of a basket fund's creation or redemption: units issued or cancelled and strip
positions moved between a participant and the fund at the marks (:mod:`market.baskets`), not market trades."""


class Trade(SQLModel, table=True):
    """A fill between a maker and a taker, at the maker's price (or an option exercise, see ``EXERCISE``).

    ``escrow_micros`` is what the seller of a physical forward is owed at delivery (notional minus the
    seller's fee); ``released`` turns true when it is paid.
    """

    __tablename__ = "trades"
    __table_args__ = (sa.Index("ix_trades_symbol_created_us", "symbol", "created_us"),)  # time-range reads
    id: int | None = Field(default=None, primary_key=True)
    symbol: str = Field(foreign_key="instruments.symbol", index=True, max_length=64)
    price_ticks: int = _big()
    qty: int
    maker_order_id: str = Field(max_length=32)
    taker_order_id: str = Field(max_length=32)
    buyer_id: str = Field(max_length=40, index=True)
    seller_id: str = Field(max_length=40, index=True)
    taker_side: str = Field(max_length=4)
    notional_micros: int = _big()
    buyer_fee_micros: int = _big(default=0)
    seller_fee_micros: int = _big(default=0)
    escrow_micros: int = _big(default=0)
    released: bool = Field(default=False)
    resale: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # a holder selling what it bought: paid at the trade, no inventory and no escrow involved
    engine_seq: int = _big()
    created_us: int = _big()


class Command(SQLModel, table=True):
    """The command log: every command applied to the engine, with its events, in application order.

    Replaying ``command`` in ``id`` order through a fresh engine rebuilds every book exactly; each
    ``partition`` (``*``: the single writer's; a product's id: a shard's, see :mod:`market.partitions`)
    replays alone.
    """

    __tablename__ = "commands"
    __table_args__ = (sa.Index("ix_commands_partition_id", "partition", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    partition: str = Field(default="*", max_length=16, sa_column_kwargs={"server_default": "*"})
    symbol: str | None = Field(default=None, max_length=64)
    command: str = Field(sa_type=sa.Text)
    events: str = Field(sa_type=sa.Text)
    last_seq: int = _big()
    created_us: int = _big()


class Position(SQLModel, table=True):
    """An account's net position in an instrument (lots, long positive) and what it cost.

    ``cost_micros`` is the signed sum of trade notionals (buys positive); ``margin_micros`` the margin
    held for it; ``fees_due_micros`` fees on cash-settled forwards, collected at settlement;
    ``variation_micros`` the variation margin the position has received so far (paid: negative).
    """

    __tablename__ = "positions"
    account_id: str = Field(foreign_key="accounts.id", primary_key=True, max_length=40)
    symbol: str = Field(foreign_key="instruments.symbol", primary_key=True, max_length=64)
    qty: int = Field(default=0)
    cost_micros: int = _big(default=0)
    margin_micros: int = _big(default=0)
    fees_due_micros: int = _big(default=0)
    variation_micros: int = _big(default=0)


class Fixing(SQLModel, table=True):
    """An index observation: the product's price per GPU-hour at an instant, from a named source.

    Corrections are revisions: a new row (``revision`` + 1) for the same instant and source, the row it
    replaces keeping its price with ``superseded_us`` set. Only rows with ``superseded_us`` null count.
    """

    __tablename__ = "fixings"
    __table_args__ = (
        sa.UniqueConstraint(
            "product", "at_us", "source", "revision", name="uq_fixings_product_at_source_rev"
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    product: str = Field(foreign_key="products.id", index=True, max_length=16)
    at_us: int = _big()
    price_micros: int = _big()
    source: str = Field(max_length=40)
    revision: int = Field(default=1)
    created_us: int = _big(default=0)
    superseded_us: int | None = Field(default=None, sa_type=sa.BigInteger)


class SettlementFixing(SQLModel, table=True):
    """Which fixing revisions a cash settlement averaged: the audit trail of "what settled on what"."""

    __tablename__ = "settlement_fixings"
    symbol: str = Field(foreign_key="instruments.symbol", primary_key=True, max_length=64)
    fixing_id: int = Field(foreign_key="fixings.id", primary_key=True)


class Delivery(SQLModel, table=True):
    """GPUs of a provider's listing allocated to a buyer for a physical forward's window.

    ``escrow_micros`` is the buyer's payment owed to the provider for it, released (or refunded) day by
    day (:class:`DeliveryDay`); ``access_handle`` is what the provider attaches for the buyer to reach
    the GPUs; ``alert`` what the provider is warned of (a missing handle).
    """

    __tablename__ = "deliveries"
    id: int | None = Field(default=None, primary_key=True)
    symbol: str = Field(foreign_key="instruments.symbol", index=True, max_length=64)
    buyer_id: str = Field(max_length=40, index=True)
    provider_id: str = Field(max_length=40, index=True)
    listing_id: int = Field(foreign_key="listings.id")
    gpus: int
    window_start_us: int = _big()
    window_end_us: int = _big()
    created_us: int = _big()
    region: str | None = Field(default=None, max_length=40)
    escrow_micros: int = _big(default=0, sa_column_kwargs={"server_default": "0"})
    access_handle: str | None = Field(default=None, max_length=500)
    endpoint: str | None = Field(default=None, max_length=200)
    handle_us: int | None = Field(default=None, sa_type=sa.BigInteger)
    alert: str | None = Field(default=None, max_length=200)


class DeliveryAccess(SQLModel, table=True):
    """An access handle a provider attached ahead of a window, for what one of its listings will
    deliver in one physical forward; allocation copies it onto the delivery records
    (:mod:`market.handoff`)."""

    __tablename__ = "delivery_access"
    listing_id: int = Field(foreign_key="listings.id", primary_key=True)
    symbol: str = Field(foreign_key="instruments.symbol", primary_key=True, max_length=64)
    access_handle: str = Field(max_length=500)
    endpoint: str | None = Field(default=None, max_length=200)
    attached_us: int = _big()


class DeliveryDay(SQLModel, table=True):
    """One UTC day of a delivery: its share of the escrow and what became of it.

    ``status``: ``pending`` (escrow held), ``confirmed`` (by the buyer) or ``accepted`` (undisputed past
    the dispute window, or a dispute rejected) -- escrow paid to the provider; ``disputed`` (escrow held
    until an admin decides); ``failed`` (no access handle in time) or ``upheld`` (a dispute upheld) --
    escrow refunded to the buyer and ``collateral_micros`` of the provider's collateral paid to it.
    """

    __tablename__ = "delivery_days"
    __table_args__ = (sa.CheckConstraint("escrow_micros >= 0", name="ck_delivery_days_escrow"),)
    delivery_id: int = Field(foreign_key="deliveries.id", primary_key=True)
    day_us: int = Field(sa_type=sa.BigInteger, primary_key=True)
    escrow_micros: int = _big()
    status: str = Field(default="pending", max_length=10, index=True)
    reason: str | None = Field(default=None, max_length=200)
    collateral_micros: int = _big(default=0)
    decided_us: int | None = Field(default=None, sa_type=sa.BigInteger)


class MarginRequirement(SQLModel, table=True):
    """An account's portfolio initial margin in one product at the last re-margining pass, with its
    parts (see ``pricing.risk.scan``): scan risk, calendar spread charge, net option value, floor."""

    __tablename__ = "margin_requirements"
    account_id: str = Field(foreign_key="accounts.id", primary_key=True, max_length=40)
    product: str = Field(foreign_key="products.id", primary_key=True, max_length=16)
    required_micros: int = _big()
    scan_micros: int = _big()
    spread_micros: int = _big()
    option_value_micros: int = _big()
    floor_micros: int = _big()
    per_instrument_micros: int = _big()
    vol_ppm: int = _big()
    updated_us: int = _big()


class MarginCall(SQLModel, table=True):
    """A call for ``amount_micros`` more margin, due by ``deadline_us``.

    ``status``: ``open`` (risk-increasing orders refused), ``met`` (margin restored in time),
    ``liquidating`` (deadline passed: the liquidation engine reduces the account), ``closed`` (the
    account is back within its margin or flat after liquidation).
    """

    __tablename__ = "margin_calls"
    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(foreign_key="accounts.id", index=True, max_length=40)
    required_micros: int = _big()
    held_micros: int = _big()
    amount_micros: int = _big()
    status: str = Field(max_length=16, index=True)
    created_us: int = _big()
    deadline_us: int = _big()
    closed_us: int | None = Field(default=None, sa_type=sa.BigInteger)


class FundContribution(SQLModel, table=True):
    """A clearing member's contribution to the default fund (held in the exchange's ``default_fund``)."""

    __tablename__ = "fund_contributions"
    account_id: str = Field(foreign_key="accounts.id", primary_key=True, max_length=40)
    amount_micros: int = _big(default=0)


class Default(SQLModel, table=True):
    """A loss an account could not pay and how the waterfall covered it, step by step."""

    __tablename__ = "defaults"
    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(foreign_key="accounts.id", index=True, max_length=40)
    ref: str = Field(max_length=64)
    shortfall_micros: int = _big()
    contribution_micros: int = _big()
    capital_micros: int = _big()
    fund_micros: int = _big()
    assessment_micros: int = _big()
    uncovered_micros: int = _big()
    created_us: int = _big()


class Liquidation(SQLModel, table=True):
    """One reduce-only IOC slice the liquidation engine sent for a margin call, with its price band.

    ``band_low_ticks``/``band_high_ticks`` bound every fill (the order's limit is the band's far edge).
    """

    __tablename__ = "liquidations"
    id: int | None = Field(default=None, primary_key=True)
    call_id: int = Field(foreign_key="margin_calls.id", index=True)
    account_id: str = Field(foreign_key="accounts.id", max_length=40)
    symbol: str = Field(foreign_key="instruments.symbol", max_length=64)
    order_id: str = Field(max_length=32)
    side: str = Field(max_length=4)
    qty: int
    filled: int
    mark_ticks: int = _big()
    band_low_ticks: int = _big()
    band_high_ticks: int = _big()
    created_us: int = _big()


class ClearingInstruction(SQLModel, table=True):
    """What an elected process (clearing pass, pool servicing) asks the shard owning ``product``'s
    books to carry out there (the outbox of :mod:`market.clearing.outbox`). ``kind``: ``liquidate``
    (cancel ``account_id``'s live orders in those books and send call ``call_id``'s slices),
    ``note_face`` (a lot of note ``symbol`` is worth ``face_micros`` now) or ``note_retire`` (the
    note's last period was paid: cancel its book, settle it). ``applied_us`` is set in the transaction
    that executed it, so it is applied exactly once; ``outcome`` says what was done (or why nothing
    was)."""

    __tablename__ = "clearing_instructions"
    __table_args__ = (sa.Index("ix_clearing_instructions_pending", "product", "applied_us"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default="liquidate", max_length=16, sa_column_kwargs={"server_default": "liquidate"})
    call_id: int | None = Field(default=None, foreign_key="margin_calls.id", index=True, nullable=True)
    account_id: str | None = Field(default=None, foreign_key="accounts.id", max_length=40, nullable=True)
    product: str = Field(max_length=64)
    symbol: str | None = Field(default=None, max_length=64, nullable=True)
    face_micros: int | None = Field(default=None, sa_type=sa.BigInteger, nullable=True)
    created_us: int = _big()
    applied_us: int | None = Field(default=None, sa_type=sa.BigInteger, nullable=True)
    outcome: str | None = Field(default=None, max_length=200, nullable=True)


class Job(SQLModel, table=True):
    """One duty of the lifecycle (``market.lifecycle``): when it last ran, how, and when it runs next.

    ``lease_owner``/``lease_until_us`` let one runner at a time claim a duty; ``failures`` counts
    consecutive failures (the backoff grows with it).
    """

    __tablename__ = "lifecycle_jobs"
    name: str = Field(primary_key=True, max_length=40)
    next_run_us: int = _big()
    last_started_us: int | None = Field(default=None, sa_type=sa.BigInteger)
    last_finished_us: int | None = Field(default=None, sa_type=sa.BigInteger)
    last_outcome: str | None = Field(default=None, max_length=10)
    last_detail: str | None = Field(default=None, max_length=500)
    failures: int = Field(default=0)
    runs: int = Field(default=0)
    lease_owner: str | None = Field(default=None, max_length=80)
    lease_until_us: int | None = Field(default=None, sa_type=sa.BigInteger)


class CancelTimer(SQLModel, table=True):
    """An account's dead-man switch (``POST /v1/orders/cancel-all-after``): while ``deadline_us`` is
    set, every live order of the account is cancelled once the exchange clock reaches it, unless the
    client renews the timer first. ``fired_us`` and ``cancelled_ids`` (a JSON list of order ids)
    record the last time it fired and what it cancelled."""

    __tablename__ = "cancel_timers"
    account_id: str = Field(primary_key=True, foreign_key="accounts.id", max_length=40)
    timeout_s: int = Field(default=0)
    deadline_us: int | None = Field(default=None, sa_type=sa.BigInteger, index=True)
    armed_us: int = _big()
    fired_us: int | None = Field(default=None, sa_type=sa.BigInteger)
    cancelled_ids: str = Field(default="[]", sa_type=sa.Text)


class MarketModel(SQLModel, table=True):
    """A product's market model as last chosen (``market.models``): one row per product, replaced at
    each refresh. ``source`` is ``selected`` (the best out-of-sample candidate the pricing engine
    accepts, calibrated on the index up to ``calibrated_us``) or ``fallback`` (too little data:
    ``reason`` says why, and marks use the lognormal rule of ``market.marks``). ``params`` is the
    pricing request's MODEL object valued at ``calibrated_us``; ``evidence`` the ranking, scores,
    standard errors and settings, both JSON. ``last_fixing_us`` is the newest fixing the refresh saw.
    """

    __tablename__ = "market_models"
    product: str = Field(primary_key=True, foreign_key="products.id", max_length=16)
    source: str = Field(max_length=10)
    model: str = Field(max_length=20)
    crps: float | None = Field(default=None)
    params: str = Field(sa_type=sa.Text)
    evidence: str = Field(sa_type=sa.Text)
    reason: str | None = Field(default=None, max_length=500)
    calibrated_us: int | None = Field(default=None, sa_type=sa.BigInteger)
    refreshed_us: int = _big()
    last_fixing_us: int | None = Field(default=None, sa_type=sa.BigInteger)
    observations: int = Field(default=0)


import market.baskets.tables  # noqa: E402 - the basket funds' tables, on the same metadata
import market.hedges.tables  # noqa: E402 - the desk's tables, on the same metadata
import market.securitization.tables  # noqa: E402 - the pools' tables, on the same metadata
import market.sharing.tables  # noqa: E402, F401 - state the API processes share, on the same metadata
