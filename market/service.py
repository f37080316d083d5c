"""The exchange service: every use case of the market, each one database transaction.

:class:`Exchange` ties the pieces together: accounts and keys (:mod:`market.accounts`), the ledger
(:mod:`market.ledger`), instruments (:mod:`market.instruments`), listings and inventory
(:mod:`market.listings`), order flow through the matching engine (:mod:`market.trading`), marks and
margin (:mod:`market.marks`, :mod:`market.margin`), settlement and delivery
(:mod:`market.settlement`) and the invariants (:mod:`market.invariants`).

Write use cases that touch the books run under one lock (the engine has one writer), apply their
commands to the engine, write the command log and every consequence in ONE transaction, and return
only after the commit. If anything fails after the engine moved, the books are rebuilt from the
database -- the same path as a restart -- so memory never runs ahead of what is durable.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

import sqlalchemy as sa

from market import accounts as keys
from market import index, marks, settlement
from market import listings as capacity
from market.errors import (
    AlreadyExistsError,
    BookUnavailableError,
    ForbiddenError,
    IdempotencyKeyReusedError,
    InstrumentClosedError,
    InvalidAmountError,
    InvalidRequestError,
    MarketError,
    NoMarkError,
    NotFoundError,
    OrderRejectedError,
    UnauthorizedError,
    UnknownInstrumentError,
)
from market.instruments import (
    InstrumentKind,
    OptionKind,
    Settlement,
    Status,
    SymbolSpec,
    Window,
    WindowKind,
    check_product_id,
    next_windows,
    parse_symbol,
)
from market.invariants import check
from market.ledger import AVAILABLE, EXTERNAL, MARGIN, RESERVED, SYSTEM, Ledger, bucket_rows
from market.records import (
    AccountInfo,
    Balances,
    BookInfo,
    BookLevel,
    CreatedAccount,
    DeliveryInfo,
    EntryInfo,
    FillInfo,
    FixingInfo,
    InstrumentInfo,
    ListingInfo,
    MarkInfo,
    OrderInfo,
    OrderRequest,
    PositionInfo,
    ProductInfo,
    SettlementReport,
    TradeInfo,
    TransferInfo,
)
from market.recovery import rebuild
from market.store import BookLocks, UnitOfWork, insert_ignore, write_transaction
from market.tables import (
    EXERCISE,
    Account,
    ApiKey,
    Balance,
    Delivery,
    Entry,
    Fixing,
    Instrument,
    Listing,
    Order,
    Position,
    Product,
    Trade,
    Transfer,
)
from market.trading import LIVE, Trading, multiplier
from market.units import MAX_MICROS, from_epoch_us, to_epoch_us

MAX_PAGE = 1000
AUTO_OFFERS = ("none", "reserve", "fair_value")

_accounts = Account.__table__
_keys = ApiKey.__table__
_balances = Balance.__table__
_transfers = Transfer.__table__
_entries = Entry.__table__
_products = Product.__table__
_instruments = Instrument.__table__
_listings = Listing.__table__
_orders = Order.__table__
_trades = Trade.__table__
_positions = Position.__table__
_deliveries = Delivery.__table__
_fixings = Fixing.__table__


def utc_now() -> datetime:
    """The wall clock in UTC (the default clock of the service)."""
    return datetime.now(UTC)


class Exchange:
    """The market's use cases over one database.

    ``Exchange(engine)`` is cheap and serves the account, cash and read-only use cases at once;
    :meth:`start` rebuilds the order books from the database, verifies them and takes the books'
    writer locks -- it is needed (once) before anything that touches a book.
    """

    def __init__(self, engine: sa.Engine, clock: Callable[[], datetime] = utc_now) -> None:
        self._db = engine
        self._clock = clock
        self._lock = threading.RLock()
        self._trading: Trading | None = None
        self._locks: BookLocks | None = None
        self._last_us = 0

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Rebuild every book from the command log, check it against the stored orders and lock it.

        Books whose rebuilt state differs from the database are refused (orders on them fail with
        ``recovery_mismatch``); :class:`BookUnavailableError` if another instance holds a book.
        """
        with self._lock:
            with self._db.begin() as connection:
                insert_ignore(connection, _balances, bucket_rows(SYSTEM))
            if self._locks is None:
                self._locks = BookLocks(self._db)
            self._rebuild()

    def close(self) -> None:
        """Release the books' locks; the instance serves no book afterwards."""
        with self._lock:
            if self._locks is not None:
                self._locks.release()
                self._locks = None
            self._trading = None

    def __enter__(self) -> Exchange:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def refused_books(self) -> frozenset[str]:
        """Books that failed their recovery check and do not trade."""
        return frozenset(self._books().refused)

    def _rebuild(self) -> None:
        trading = rebuild(self._db)
        if self._locks is not None:
            self._locks.acquire(trading.instruments)
        self._trading = trading

    def _books(self) -> Trading:
        if self._trading is None:
            raise BookUnavailableError("the books are not open: call Exchange.start() first")
        return self._trading

    def now(self) -> datetime:
        """The exchange clock's current instant (UTC), never going backwards within this instance."""
        return from_epoch_us(self._now_us())

    def _now_us(self) -> int:
        """Microseconds since the epoch, never going backwards within this instance."""
        now = to_epoch_us(self._clock())
        self._last_us = max(self._last_us, now)
        return self._last_us

    @contextmanager
    def _transaction(self) -> Iterator[UnitOfWork]:
        """One transaction for book-touching use cases; rebuilds the books if it fails after they moved."""
        with self._lock:
            trading = self._books()
            uow: UnitOfWork | None = None
            try:
                with write_transaction(self._db) as connection:
                    uow = UnitOfWork(connection, self._now_us())
                    trading.advance(uow)
                    yield uow
                    uow.flush()
            except BaseException as exc:
                # a refusal raised before anything moved leaves memory as it was; anything else may not
                if uow is not None and (uow.applied or not isinstance(exc, MarketError)):
                    self._rebuild()
                raise

    def _read(self) -> sa.Connection:
        return self._db.connect()

    # ------------------------------------------------------------------ accounts and keys

    def create_account(self, name: str, roles: Sequence[str] | str) -> CreatedAccount:
        """Create an account with ``roles`` and its first API key (returned once, stored hashed)."""
        if not isinstance(name, str) or not 0 < len(name.strip()) <= 200:
            raise InvalidRequestError("name must be 1-200 characters", field="name")
        role_list = keys.parse_roles(roles)
        account_id = keys.new_account_id()
        now = self._now_us()
        key, prefix, digest = keys.new_api_key()
        try:
            with self._db.begin() as connection:
                connection.execute(
                    _accounts.insert(),
                    {"id": account_id, "name": name.strip(), "roles": ",".join(role_list), "created_us": now},
                )
                connection.execute(_balances.insert(), bucket_rows(account_id))
                insert_ignore(connection, _balances, bucket_rows(SYSTEM))  # the counterparties of its cash
                connection.execute(
                    _keys.insert(),
                    {"account_id": account_id, "prefix": prefix, "key_hash": digest, "created_us": now},
                )
        except sa.exc.IntegrityError:
            raise AlreadyExistsError(f"an account named {name!r} exists", field="name") from None
        return CreatedAccount(AccountInfo(account_id, name.strip(), role_list, from_epoch_us(now)), key)

    def issue_api_key(self, account_id: str) -> str:
        """A new API key for an existing account (returned once)."""
        self.account(account_id)
        key, prefix, digest = keys.new_api_key()
        with self._db.begin() as connection:
            connection.execute(
                _keys.insert(),
                {
                    "account_id": account_id,
                    "prefix": prefix,
                    "key_hash": digest,
                    "created_us": self._now_us(),
                },
            )
        return key

    def revoke_api_key(self, key_or_prefix: str) -> None:
        """Revoke a key, named by the key itself or by its 12-character prefix."""
        prefix = key_or_prefix[: keys.KEY_PREFIX_LENGTH] if isinstance(key_or_prefix, str) else ""
        with self._db.begin() as connection:
            done = connection.execute(
                _keys.update()
                .where(_keys.c.prefix == prefix, _keys.c.revoked_us.is_(None))
                .values(revoked_us=self._now_us())
            )
        if done.rowcount != 1:
            raise NotFoundError(f"no active API key with prefix {prefix!r}", field="key")

    def authenticate(self, api_key: str) -> AccountInfo:
        """The account an API key belongs to; :class:`UnauthorizedError` if unknown or revoked."""
        if not isinstance(api_key, str) or not api_key:
            raise UnauthorizedError("an API key is required")
        with self._read() as connection:
            row = connection.execute(
                sa.select(_accounts)
                .join(_keys, _keys.c.account_id == _accounts.c.id)
                .where(_keys.c.key_hash == keys.hash_key(api_key), _keys.c.revoked_us.is_(None))
            ).one_or_none()
        if row is None:
            raise UnauthorizedError("unknown or revoked API key")
        return _account(row)

    def account(self, account_id: str) -> AccountInfo:
        """One account."""
        with self._read() as connection:
            row = connection.execute(sa.select(_accounts).where(_accounts.c.id == account_id)).one_or_none()
        if row is None:
            raise NotFoundError(f"no account {account_id!r}", field="account_id")
        return _account(row)

    @staticmethod
    def _roles(connection: sa.Connection, account_id: str) -> tuple[str, ...]:
        roles = connection.execute(sa.select(_accounts.c.roles).where(_accounts.c.id == account_id)).scalar()
        if roles is None:
            raise NotFoundError(f"no account {account_id!r}", field="account_id")
        return tuple(roles.split(","))

    def accounts(self) -> list[AccountInfo]:
        """Every account, oldest first."""
        with self._read() as connection:
            rows = connection.execute(sa.select(_accounts).order_by(_accounts.c.created_us, _accounts.c.id))
            return [_account(r) for r in rows]

    # ------------------------------------------------------------------ cash

    def balances(self, account_id: str) -> Balances:
        """Cash, reserved, margin and available balances of an account, in micro-dollars."""
        with self._read() as connection:
            rows = dict(
                connection.execute(
                    sa.select(_balances.c.bucket, _balances.c.amount).where(_balances.c.owner == account_id)
                ).all()
            )
        if not rows:
            raise NotFoundError(f"no account {account_id!r}", field="account_id")
        available, reserved, margin_ = rows[AVAILABLE], rows[RESERVED], rows[MARGIN]
        return Balances(
            cash=available + reserved + margin_, reserved=reserved, margin=margin_, available=available
        )

    def deposit(self, account_id: str, amount_micros: int, idempotency_key: str) -> TransferInfo:
        """Credit cash from outside. The same key with the same amount returns the first deposit."""
        return self._external(account_id, amount_micros, idempotency_key, "deposit")

    def withdraw(self, account_id: str, amount_micros: int, idempotency_key: str) -> TransferInfo:
        """Pay available cash out. The same key with the same amount returns the first withdrawal."""
        return self._external(account_id, amount_micros, idempotency_key, "withdrawal")

    def _external(self, account_id: str, amount: int, idempotency_key: str, kind: str) -> TransferInfo:
        if type(amount) is not int or not 0 < amount <= MAX_MICROS:
            raise InvalidAmountError("amount must be a positive number of micro-dollars", field="amount")
        if not isinstance(idempotency_key, str) or not 0 < len(idempotency_key) <= 200:
            raise InvalidRequestError(
                "an idempotency key of 1-200 characters is required", field="idempotency_key"
            )
        self.account(account_id)
        digest = hashlib.sha256(f"{kind}:{amount}".encode()).hexdigest()
        existing = self._transfer_by_key(account_id, idempotency_key)
        if existing is None:
            try:
                with write_transaction(self._db) as connection:
                    ledger = Ledger(connection, self._now_us())
                    outside, inside = (SYSTEM, EXTERNAL), (account_id, AVAILABLE)
                    if kind == "deposit":
                        ledger.move(outside, inside, amount)
                    else:
                        ledger.move(inside, outside, amount, "the withdrawal")
                    ledger.post(
                        kind, account_id=account_id, idempotency_key=idempotency_key, request_hash=digest
                    )
                    ledger.flush()
            except sa.exc.IntegrityError:
                pass  # a concurrent request with the same key won the race: answer with its transfer
            existing = self._transfer_by_key(account_id, idempotency_key)
        if existing is None or existing.request_hash != digest:
            raise IdempotencyKeyReusedError(
                f"idempotency key {idempotency_key!r} was used for a different request",
                field="idempotency_key",
            )
        return TransferInfo(
            existing.id,
            existing.kind,
            account_id,
            amount,
            idempotency_key,
            from_epoch_us(existing.created_us),
        )

    def _transfer_by_key(self, account_id: str, idempotency_key: str) -> sa.Row | None:
        with self._read() as connection:
            return connection.execute(
                sa.select(_transfers).where(
                    _transfers.c.account_id == account_id, _transfers.c.idempotency_key == idempotency_key
                )
            ).one_or_none()

    def ledger(self, account_id: str, *, after: int | None = None, limit: int = 100) -> list[EntryInfo]:
        """An account's ledger entries, oldest first, after entry id ``after``."""
        query = (
            sa.select(_entries, _transfers.c.kind, _transfers.c.ref, _transfers.c.created_us)
            .join(_transfers, _transfers.c.id == _entries.c.transfer_id)
            .where(_entries.c.owner == account_id)
            .order_by(_entries.c.id)
            .limit(_limit(limit))
        )
        if after is not None:
            query = query.where(_entries.c.id > after)
        with self._read() as connection:
            return [
                EntryInfo(r.id, r.transfer_id, r.kind, r.bucket, r.amount, r.ref, from_epoch_us(r.created_us))
                for r in connection.execute(query)
            ]

    # ------------------------------------------------------------------ products and instruments

    def create_product(
        self, product_id: str, description: str = "", region: str | None = None
    ) -> ProductInfo:
        """Register a GPU class (e.g. ``H100``)."""
        check_product_id(product_id)
        try:
            with self._db.begin() as connection:
                connection.execute(
                    _products.insert(),
                    {
                        "id": product_id,
                        "description": description,
                        "region": region,
                        "created_us": self._now_us(),
                    },
                )
        except sa.exc.IntegrityError:
            raise AlreadyExistsError(f"product {product_id} exists", field="product") from None
        return ProductInfo(product_id, description, region)

    def products(self) -> list[ProductInfo]:
        """Every product."""
        with self._read() as connection:
            rows = connection.execute(sa.select(_products).order_by(_products.c.id))
            return [ProductInfo(r.id, r.description, r.region) for r in rows]

    def create_forward(
        self,
        product: str,
        window_kind: str,
        start: datetime,
        settlement: str = "physical",
        *,
        tick_micros: int = 1000,
        lot_gpus: int = 1,
        maker_fee_ppm: int = 0,
        taker_fee_ppm: int = 0,
    ) -> InstrumentInfo:
        """List a forward on the ``window_kind`` window (day, week, month) starting at ``start``.

        Trading stops when delivery starts. A physical forward's inventory comes from the listings
        that already cover its window.
        """
        window = Window(_enum(WindowKind, window_kind, "window_kind"), start)
        _enum(Settlement, settlement, "settlement")
        row = self._instrument_row(product, window, InstrumentKind.FORWARD, settlement, tick_micros, lot_gpus)
        row.update(
            maker_fee_ppm=_ppm(maker_fee_ppm, "maker_fee_ppm"),
            taker_fee_ppm=_ppm(taker_fee_ppm, "taker_fee_ppm"),
        )
        return self._add_instruments([row])[0]

    def create_series(
        self,
        product: str,
        *,
        months: int = 3,
        weeks: int = 6,
        days: int = 14,
        settlement: str = "physical",
        tick_micros: int = 1000,
        lot_gpus: int = 1,
    ) -> list[InstrumentInfo]:
        """Create the rolling series: the next ``months`` months, ``weeks`` ISO weeks and ``days`` days.

        Windows that already have an instrument are skipped, so running it daily rolls the series.
        """
        _enum(Settlement, settlement, "settlement")
        now = from_epoch_us(self._now_us())
        rows = []
        existing = {i.symbol for i in self.instruments(product=product)}
        for kind, count in ((WindowKind.MONTH, months), (WindowKind.WEEK, weeks), (WindowKind.DAY, days)):
            if type(count) is not int or not 0 <= count <= 400:
                raise InvalidRequestError("series counts must be whole numbers up to 400", field=kind.value)
            for window in next_windows(kind, now, count):
                row = self._instrument_row(
                    product, window, InstrumentKind.FORWARD, settlement, tick_micros, lot_gpus
                )
                if row["symbol"] not in existing:
                    rows.append(row)
        return self._add_instruments(rows)

    def create_option(
        self,
        underlying: str,
        option_kind: str,
        strike_ticks: int,
        *,
        style: str = "european",
        expiry_business_days: int = 2,
        calendar: str = "weekends",
    ) -> InstrumentInfo:
        """List an option on a forward: ``european`` (expires ``expiry_business_days`` business days
        before delivery and is exercised into the forward, which must be cash-settled) or ``asian``
        (on the product's index average over the window, settled in cash at the window's end)."""
        from pricing.calendar import CALENDARS, business_days_before  # QuantLib loads only when needed

        base = self.instrument(underlying)
        kind = _enum(OptionKind, option_kind, "option_kind")
        if base.kind != InstrumentKind.FORWARD:
            raise InvalidRequestError("options are written on forwards", field="underlying")
        if style not in ("european", "asian"):
            raise InvalidRequestError("style must be european or asian", field="style")
        if type(strike_ticks) is not int or strike_ticks <= 0:
            raise InvalidRequestError("strike must be a positive number of ticks", field="strike")
        if style == "european" and base.settlement != Settlement.CASH:
            raise InvalidRequestError(
                "european options are exercised into cash-settled forwards", field="underlying"
            )
        if calendar not in CALENDARS or type(expiry_business_days) is not int or expiry_business_days < 0:
            raise InvalidRequestError("unknown calendar or negative business days", field="calendar")
        option = _option_spec(underlying, kind, strike_ticks, base.tick_micros, style)
        expiry = (
            business_days_before(base.window_start, expiry_business_days, calendar)
            if style == "european"
            else base.window_start
        )
        row = self._instrument_row(
            option.product, option.window, option.kind, "cash", base.tick_micros, base.lot_gpus
        )
        row.update(
            symbol=option.symbol,
            underlying=underlying,
            option_kind=kind.value,
            strike_ticks=strike_ticks,
            expiry_us=to_epoch_us(expiry),
            maker_fee_ppm=base.maker_fee_ppm,
            taker_fee_ppm=base.taker_fee_ppm,
        )
        return self._add_instruments([row])[0]

    def create_option_chain(
        self,
        underlying: str,
        *,
        strikes: int = 2,
        step_bps: int = 1000,
        style: str = "european",
        expiry_business_days: int = 2,
        calendar: str = "weekends",
    ) -> list[InstrumentInfo]:
        """Calls and puts on ``underlying`` at a strike grid around its mark: the mark rounded to the
        tick, and ``strikes`` more each side spaced ``step_bps`` basis points of the mark apart.

        Strikes that already have an option are skipped; ``no_mark`` without index fixings.
        """
        if type(strikes) is not int or not 0 <= strikes <= 20 or type(step_bps) is not int or step_bps <= 0:
            raise InvalidRequestError("strikes must be 0-20 and step_bps positive", field="strikes")
        base = self.instrument(underlying)
        forward = self.mark(underlying, greeks=False).forward_micros
        grid = sorted(
            {
                round(forward * (10_000 + k * step_bps) / 10_000 / base.tick_micros)
                for k in range(-strikes, strikes + 1)
            }
        )
        existing = {i.symbol for i in self.instruments(product=base.product, kind=None)}
        created = []
        for strike in (s for s in grid if s > 0):
            for kind in OptionKind:
                if _option_spec(underlying, kind, strike, base.tick_micros, style).symbol not in existing:
                    created.append(
                        self.create_option(
                            underlying,
                            kind.value,
                            strike,
                            style=style,
                            expiry_business_days=expiry_business_days,
                            calendar=calendar,
                        )
                    )
        return created

    def _instrument_row(
        self,
        product: str,
        window: Window,
        kind: InstrumentKind,
        settlement: str,
        tick_micros: int,
        lot_gpus: int,
    ) -> dict:
        if type(tick_micros) is not int or tick_micros <= 0 or type(lot_gpus) is not int or lot_gpus <= 0:
            raise InvalidRequestError("tick and lot must be positive integers", field="tick")
        check_product_id(product)
        return {
            "symbol": f"{product}-{window.label}",
            "product": product,
            "kind": kind.value,
            "settlement": settlement,
            "window_kind": window.kind.value,
            "window_start_us": to_epoch_us(window.start),
            "window_end_us": to_epoch_us(window.end),
            "tick_micros": tick_micros,
            "lot_gpus": lot_gpus,
            "status": Status.OPEN.value,
            "underlying": None,
            "option_kind": None,
            "strike_ticks": None,
            "expiry_us": to_epoch_us(window.start),
            "maker_fee_ppm": 0,
            "taker_fee_ppm": 0,
            "margin_per_lot": 0,
            "settle_price_micros": None,
            "created_us": 0,
        }

    def _add_instruments(self, rows: list[dict]) -> list[InstrumentInfo]:
        if not rows:
            return []
        with self._transaction() as uow:
            trading = self._books()
            for row in rows:
                if row["expiry_us"] <= uow.now_us:
                    raise InvalidRequestError(f"{row['symbol']} would already be expired", field="start")
                if row["symbol"] in trading.instruments:
                    raise AlreadyExistsError(f"instrument {row['symbol']} exists", field="symbol")
                row["created_us"] = uow.now_us
            products = set(uow.connection.execute(sa.select(_products.c.id)).scalars())
            missing = {r["product"] for r in rows} - products
            if missing:
                raise NotFoundError(f"no product {', '.join(sorted(missing))}", field="product")
            uow.connection.execute(_instruments.insert(), rows)
            for row in rows:
                if row["kind"] == "forward" and row["settlement"] == "physical":
                    for provider, gpus in capacity.capacity_for(uow.connection, row).items():
                        capacity.add_capacity(uow.connection, row["symbol"], provider, gpus)
            if self._locks is not None:
                self._locks.acquire(r["symbol"] for r in rows)
            for row in rows:
                trading.add_instrument(dict(row))
            for row in rows:
                if row["kind"] == "forward" and row["settlement"] == "physical":
                    for listing in capacity.auto_offering(uow.connection, row):
                        self._auto_offer(uow, listing, [row["symbol"]])
        return [_instrument(r) for r in rows]

    def instruments(
        self, *, product: str | None = None, kind: str | None = None, status: str | None = None
    ) -> list[InstrumentInfo]:
        """Instruments, filtered, ordered by product, delivery start and symbol."""
        query = sa.select(_instruments).order_by(
            _instruments.c.product, _instruments.c.window_start_us, _instruments.c.symbol
        )
        for column, value in (
            (_instruments.c.product, product),
            (_instruments.c.kind, kind),
            (_instruments.c.status, status),
        ):
            if value is not None:
                query = query.where(column == value)
        with self._read() as connection:
            return [_instrument(r._mapping) for r in connection.execute(query)]

    def instrument(self, symbol: str) -> InstrumentInfo:
        """One instrument; ``unknown_instrument`` if there is none."""
        with self._read() as connection:
            row = connection.execute(
                sa.select(_instruments).where(_instruments.c.symbol == symbol)
            ).one_or_none()
        if row is None:
            raise UnknownInstrumentError(f"no instrument {symbol!r}", field="symbol")
        return _instrument(row._mapping)

    def set_status(self, symbol: str, status: str) -> InstrumentInfo:
        """Halt (``halted``: resting orders stay, nothing new trades) or resume (``open``) an instrument."""
        if status not in (Status.OPEN, Status.HALTED):
            raise InvalidRequestError(
                "status can be set to open or halted; expiry and settlement are automatic", field="status"
            )
        with self._transaction() as uow:
            row = self._books().instrument(symbol)
            if row["status"] not in (Status.OPEN, Status.HALTED):
                raise InstrumentClosedError(f"{symbol} is {row['status']}")
            uow.connection.execute(
                _instruments.update().where(_instruments.c.symbol == symbol).values(status=status)
            )
            row["status"] = status
        return _instrument(row)

    # ------------------------------------------------------------------ listings

    def create_listing(
        self,
        provider_id: str,
        product: str,
        gpus: int,
        start: datetime,
        end: datetime,
        *,
        region: str | None = None,
        reserve_price_micros: int | None = None,
        auto_offer: str = "none",
        spread_micros: int = 0,
    ) -> ListingInfo:
        """List ``gpus`` GPUs of ``product`` for every hour of ``[start, end)``.

        Creates inventory in every physical forward the window covers. ``auto_offer`` ``reserve``
        places asks for the listed GPUs at ``reserve_price_micros`` (rounded up to the tick);
        ``fair_value`` at the pricing core's fair value plus ``spread_micros`` (never below the
        reserve price).
        """
        account = self.account(provider_id)
        if keys.PROVIDER not in account.roles:
            raise ForbiddenError("listing capacity needs the provider role")
        if type(gpus) is not int or not 0 < gpus <= 10**7:
            raise InvalidRequestError("gpus must be a positive whole number", field="gpus")
        for name, moment in (("start", start), ("end", end)):
            if moment.tzinfo is None or moment.minute or moment.second or moment.microsecond:
                raise InvalidRequestError(f"{name} must be a whole UTC hour", field=name)
        if end <= start:
            raise InvalidRequestError("end must be after start", field="end")
        if end - start > timedelta(days=capacity.MAX_LISTING_DAYS):
            raise InvalidRequestError(
                f"a listing spans at most {capacity.MAX_LISTING_DAYS} days", field="end"
            )
        if auto_offer not in AUTO_OFFERS:
            raise InvalidRequestError(
                f"auto_offer must be one of {', '.join(AUTO_OFFERS)}", field="auto_offer"
            )
        if reserve_price_micros is not None and (
            type(reserve_price_micros) is not int or reserve_price_micros <= 0
        ):
            raise InvalidAmountError("reserve price must be positive", field="reserve_price")
        if auto_offer == "reserve" and reserve_price_micros is None:
            raise InvalidRequestError("auto_offer reserve needs a reserve price", field="reserve_price")
        if type(spread_micros) is not int or spread_micros < 0:
            raise InvalidAmountError("spread must be a non-negative amount", field="spread")
        with self._transaction() as uow:
            if to_epoch_us(end) <= uow.now_us:
                raise InvalidRequestError("the window is over", field="end")
            if (
                uow.connection.execute(sa.select(_products.c.id).where(_products.c.id == product)).first()
                is None
            ):
                raise NotFoundError(f"no product {product!r}", field="product")
            row = {
                "provider_id": provider_id,
                "product": product,
                "region": region,
                "gpus": gpus,
                "window_start_us": to_epoch_us(start),
                "window_end_us": to_epoch_us(end),
                "reserve_price_micros": reserve_price_micros,
                "auto_offer": auto_offer,
                "spread_micros": spread_micros,
                "created_us": uow.now_us,
            }
            row["id"] = uow.connection.execute(_listings.insert().returning(_listings.c.id), row).scalar_one()
            covered = self._covered(row)
            for symbol in covered:
                capacity.add_capacity(uow.connection, symbol, provider_id, gpus)
            days = capacity.whole_days(row["window_start_us"], row["window_end_us"])
            capacity.add_days(uow.connection, provider_id, product, days, gpus)
            if auto_offer != "none":
                self._auto_offer(uow, row, covered)
        return _listing(row, covered)

    def _covered(self, listing: dict) -> list[str]:
        return sorted(s for s, i in self._books().instruments.items() if capacity.covers(listing, i))

    def _auto_offer(self, uow: UnitOfWork, listing: dict, covered: list[str]) -> None:
        """Place the asks an auto-offering listing asks for in the forwards ``covered`` (skipping those
        not open, and, for ``fair_value``, those without a mark).

        Overlapping forwards share the listing's GPU-days, so each ask offers what is still free there
        (at most the listing's GPUs), longest window first: a month takes the capacity before its
        weeks and days, which get what other listings leave free.
        """
        trading = self._books()
        roles = self._roles(uow.connection, listing["provider_id"])
        by_length = sorted(
            (trading.instruments[s] for s in covered),
            key=lambda i: (i["window_start_us"] - i["window_end_us"], i["window_start_us"], i["symbol"]),
        )
        for inst in by_length:
            symbol = inst["symbol"]
            if inst["status"] != Status.OPEN or uow.now_us >= inst["expiry_us"]:
                continue
            price = listing["reserve_price_micros"] or 0
            if listing["auto_offer"] == "fair_value":
                try:
                    fair = marks.fair_value_micros(uow.connection, inst, uow.now_us)
                except NoMarkError:
                    continue  # no fixings for the product yet
                price = max(price, fair + listing["spread_micros"])
            ticks = -(-price // inst["tick_micros"])
            free = trading.offerable_gpus(uow, inst, listing["provider_id"])
            lots = min(listing["gpus"], free) // inst["lot_gpus"]
            if ticks > 0 and lots > 0:
                request = OrderRequest(symbol=symbol, side="sell", qty=lots, price_ticks=ticks)
                trading.new_order(uow, listing["provider_id"], roles, request)

    def listings(self, provider_id: str) -> list[ListingInfo]:
        """A provider's listings, oldest first, each with the forwards it covers."""
        with self._read() as connection:
            rows = [
                dict(r._mapping)
                for r in connection.execute(
                    sa.select(_listings)
                    .where(_listings.c.provider_id == provider_id)
                    .order_by(_listings.c.id)
                )
            ]
            forwards = [
                dict(r._mapping)
                for r in connection.execute(
                    sa.select(_instruments).where(
                        _instruments.c.kind == "forward", _instruments.c.settlement == "physical"
                    )
                )
            ]
        return [
            _listing(row, sorted(f["symbol"] for f in forwards if capacity.covers(row, f))) for row in rows
        ]

    def listing(self, provider_id: str, listing_id: int) -> ListingInfo:
        """One of the provider's listings (another provider's is ``not_found``)."""
        for item in self.listings(provider_id):
            if item.id == listing_id:
                return item
        raise NotFoundError(f"no listing {listing_id}", field="listing_id")

    def reduce_listing(self, provider_id: str, listing_id: int, gpus: int) -> ListingInfo:
        """Lower a listing to ``gpus`` GPUs; refused below what is sold or offered in a covered forward."""
        current = self.listing(provider_id, listing_id)
        if type(gpus) is not int or not 0 <= gpus < current.gpus:
            raise InvalidRequestError(f"gpus must be below the current {current.gpus}", field="gpus")
        return self._shrink(provider_id, listing_id, current.gpus - gpus)

    def withdraw_listing(self, provider_id: str, listing_id: int) -> ListingInfo:
        """Withdraw as much of a listing as is unsold and not offered; returns what remains."""
        self.listing(provider_id, listing_id)
        return self._shrink(provider_id, listing_id, None)

    def _shrink(self, provider_id: str, listing_id: int, by: int | None) -> ListingInfo:
        with self._transaction() as uow:
            row = dict(
                uow.connection.execute(
                    sa.select(_listings).where(_listings.c.id == listing_id).with_for_update()
                )
                .one()
                ._mapping
            )
            covered = self._covered(row)
            removed = capacity.shrink(uow.connection, row, covered, by)
            row["gpus"] -= removed
        return _listing(row, covered)

    # ------------------------------------------------------------------ orders

    def place_order(self, account_id: str, request: OrderRequest) -> OrderInfo:
        """Validate, hold and match a new order; returns it after the commit.

        Raises the validation errors (``off_tick`` is the API's job via :mod:`market.units`;
        ``insufficient_funds``, ``inventory_exceeded``, ``instrument_not_open``,
        ``duplicate_client_order_id``, ...) and :class:`OrderRejectedError` with the engine's reason
        when the book refused it (the rejection is stored, so a resend returns it again).
        """
        result = self.place_orders([(account_id, request)])[0]
        if isinstance(result, MarketError):
            raise result
        if result.status == "rejected":
            raise OrderRejectedError(
                result.reason or "rejected", f"the book refused the order: {result.reason}"
            )
        return result

    def place_orders(self, batch: Sequence[tuple[str, OrderRequest]]) -> list[OrderInfo | MarketError]:
        """Place several orders in ONE transaction (grouped commit); one result or error per order.

        Unlike :meth:`place_order`, an order the book refused comes back as an ``OrderInfo`` with
        status ``rejected`` (it is stored), not as an error.
        """
        roles = {}
        results: list[tuple[dict, bool] | MarketError] = []
        with self._transaction() as uow:
            trading = self._books()
            for account_id, request in batch:
                try:
                    if account_id not in roles:
                        roles[account_id] = self._roles(uow.connection, account_id)
                    row = trading.new_order(uow, account_id, roles[account_id], request)
                    results.append((row, row["id"] in uow.new_orders))
                except MarketError as error:
                    results.append(error)
        fills: dict[str, list[dict]] = {}
        for trade in uow.written_trades:
            fills.setdefault(trade["maker_order_id"], []).append(trade)
            fills.setdefault(trade["taker_order_id"], []).append(trade)
        return [
            r
            if isinstance(r, MarketError)
            else self._order_info(r[0], fills.get(r[0]["id"], []) if r[1] else None)
            for r in results
        ]

    def cancel_order(self, account_id: str, order_id: str) -> OrderInfo:
        """Cancel a live order; ``not_found`` for another account's order, ``order_closed`` if done."""
        with self._transaction() as uow:
            row, rejection = self._books().cancel(uow, account_id, order_id)
        return self._checked(row, rejection)

    def cancel_orders(self, account_id: str, symbol: str | None = None) -> list[OrderInfo]:
        """Cancel every live order of the account (in one book, or everywhere)."""
        with self._transaction() as uow:
            trading = self._books()
            mine = [
                oid
                for oid, r in trading.live.items()
                if r["account_id"] == account_id and (symbol is None or r["symbol"] == symbol)
            ]
            rows = [trading.cancel(uow, account_id, oid)[0] for oid in mine]
        return [self._order_info(r) for r in rows]

    def amend_order(
        self, account_id: str, order_id: str, *, qty: int | None = None, price_ticks: int | None = None
    ) -> OrderInfo:
        """Change a live order's open quantity and/or price (a decrease keeps priority)."""
        with self._transaction() as uow:
            row, rejection = self._books().amend(uow, account_id, order_id, qty, price_ticks)
        return self._checked(row, rejection)

    def _checked(self, row: dict, rejection: str | None) -> OrderInfo:
        if rejection is not None:
            raise OrderRejectedError(rejection, f"the book refused the command: {rejection}")
        return self._order_info(row)

    def order(self, account_id: str, order_id: str) -> OrderInfo:
        """One of the account's orders with its fills (another account's is ``not_found``)."""
        with self._read() as connection:
            row = connection.execute(
                sa.select(_orders).where(_orders.c.id == order_id, _orders.c.account_id == account_id)
            ).one_or_none()
        if row is None:
            raise NotFoundError(f"no order {order_id!r}", field="order_id")
        return self._order_info(dict(row._mapping))

    def order_by_client_id(self, account_id: str, client_order_id: str) -> OrderInfo:
        """The account's order with that ``client_order_id``."""
        with self._read() as connection:
            row = connection.execute(
                sa.select(_orders).where(
                    _orders.c.account_id == account_id, _orders.c.client_order_id == client_order_id
                )
            ).one_or_none()
        if row is None:
            raise NotFoundError(f"no order with client_order_id {client_order_id!r}", field="client_order_id")
        return self._order_info(dict(row._mapping))

    def orders(
        self,
        account_id: str,
        *,
        status: str | None = None,
        symbol: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[OrderInfo]:
        """The account's orders, oldest first; ``status`` ``live`` selects open and partially filled;
        ``after`` is the id of the last order of the previous page."""
        query = sa.select(_orders).where(_orders.c.account_id == account_id)
        if status == "live":
            query = query.where(_orders.c.status.in_(LIVE))
        elif status is not None:
            query = query.where(_orders.c.status == status)
        if symbol is not None:
            query = query.where(_orders.c.symbol == symbol)
        with self._read() as connection:
            if after is not None:
                anchor = connection.execute(
                    sa.select(_orders.c.created_us).where(
                        _orders.c.id == after, _orders.c.account_id == account_id
                    )
                ).scalar_one_or_none()
                if anchor is None:
                    raise InvalidRequestError("unknown cursor", field="cursor")
                query = query.where(
                    sa.or_(
                        _orders.c.created_us > anchor,
                        sa.and_(_orders.c.created_us == anchor, _orders.c.id > after),
                    )
                )
            rows = connection.execute(query.order_by(_orders.c.created_us, _orders.c.id).limit(_limit(limit)))
            return [self._order_info(dict(r._mapping), None, connection) for r in rows]

    def _order_info(
        self, row: dict, trades: list[dict] | None = None, connection: sa.Connection | None = None
    ) -> OrderInfo:
        """An order record; its fills are read unless ``trades`` (all of them) are given."""
        if trades is None:
            if connection is None:
                with self._read() as own:
                    return self._order_info(row, None, own)
            trades = [
                dict(t._mapping)
                for t in connection.execute(
                    sa.select(_trades)
                    .where(
                        sa.or_(_trades.c.maker_order_id == row["id"], _trades.c.taker_order_id == row["id"])
                    )
                    .order_by(_trades.c.id)
                )
            ]
        tick = self._trading.instruments[row["symbol"]]["tick_micros"] if self._trading else None
        if tick is None:
            with self._read() as own:
                tick = self._tick(row["symbol"], own)
        fills = tuple(_fill(t, tick, row["id"]) for t in trades)
        return OrderInfo(
            id=row["id"],
            account_id=row["account_id"],
            symbol=row["symbol"],
            client_order_id=row["client_order_id"],
            side=row["side"],
            type=row["type"],
            price_ticks=row["price_ticks"],
            stop_price_ticks=row["stop_price_ticks"],
            qty=row["qty"],
            open_qty=row["open_qty"],
            filled=row["filled"],
            cancelled=row["cancelled"],
            status=row["status"],
            reason=row["reason"],
            tif=row["tif"],
            post_only=row["post_only"],
            stp=row["stp"],
            expire_at=None if row["expire_at_us"] is None else from_epoch_us(row["expire_at_us"]),
            display_qty=row["display_qty"],
            reserved_micros=row["reserved_micros"],
            tick_micros=tick,
            fills=fills,
            created_at=from_epoch_us(row["created_us"]),
            updated_at=from_epoch_us(row["updated_us"]),
        )

    def _tick(self, symbol: str, connection: sa.Connection) -> int:
        if self._trading is not None and symbol in self._trading.instruments:
            return self._trading.instruments[symbol]["tick_micros"]
        return connection.execute(
            sa.select(_instruments.c.tick_micros).where(_instruments.c.symbol == symbol)
        ).scalar_one()

    def fills(self, account_id: str, *, after: int | None = None, limit: int = 100) -> list[FillInfo]:
        """The account's fills, oldest first, after trade id ``after``."""
        query = (
            sa.select(_trades)
            .where(sa.or_(_trades.c.buyer_id == account_id, _trades.c.seller_id == account_id))
            .order_by(_trades.c.id)
            .limit(_limit(limit))
        )
        if after is not None:
            query = query.where(_trades.c.id > after)
        with self._read() as connection:
            result = []
            for row in connection.execute(query):
                trade = dict(row._mapping)
                tick = self._tick(trade["symbol"], connection)
                for side, who in (("buy", trade["buyer_id"]), ("sell", trade["seller_id"])):
                    if who == account_id:
                        taker = trade["taker_side"] == side
                        result.append(
                            _fill(trade, tick, trade["taker_order_id" if taker else "maker_order_id"])
                        )
            return result

    def trades(self, symbol: str, *, after: int | None = None, limit: int = 100) -> list[TradeInfo]:
        """Public trades of an instrument, oldest first, after trade id ``after`` (option exercises,
        which are not market trades, are left out)."""
        self._books_or_read_instrument(symbol)
        query = (
            sa.select(_trades)
            .where(_trades.c.symbol == symbol, _trades.c.maker_order_id != EXERCISE)
            .order_by(_trades.c.id)
            .limit(_limit(limit))
        )
        if after is not None:
            query = query.where(_trades.c.id > after)
        with self._read() as connection:
            tick = self._tick(symbol, connection)
            return [
                TradeInfo(
                    t.id, t.symbol, t.price_ticks, t.qty, t.taker_side, tick, from_epoch_us(t.created_us)
                )
                for t in connection.execute(query)
            ]

    def _books_or_read_instrument(self, symbol: str) -> None:
        if self._trading is not None:
            self._trading.instrument(symbol)
        else:
            self.instrument(symbol)

    def book(self, symbol: str, depth: int | None = None) -> BookInfo:
        """The order book of an instrument, ``depth`` levels a side (all by default)."""
        with self._lock:
            trading = self._books()
            inst = trading.instrument(symbol)
            snap = trading.engine.snapshot(symbol)

        def levels(side: list[dict]) -> tuple[BookLevel, ...]:
            chosen = side if depth is None else side[: max(depth, 0)]
            return tuple(
                BookLevel(
                    lvl["price"],
                    sum(o["qty"] for o in lvl["orders"]),
                    sum(o["visible"] for o in lvl["orders"]),
                    len(lvl["orders"]),
                )
                for lvl in chosen
            )

        return BookInfo(
            symbol, snap["seq"], levels(snap["bids"]), levels(snap["asks"]), snap["last"], inst["tick_micros"]
        )

    def positions(self, account_id: str) -> list[PositionInfo]:
        """The account's positions (non-zero or still holding margin)."""
        with self._read() as connection:
            rows = list(
                connection.execute(
                    sa.select(_positions)
                    .where(
                        _positions.c.account_id == account_id,
                        sa.or_(_positions.c.qty != 0, _positions.c.margin_micros != 0),
                    )
                    .order_by(_positions.c.symbol)
                )
            )
            return [
                PositionInfo(
                    r.account_id,
                    r.symbol,
                    r.qty,
                    r.cost_micros,
                    r.margin_micros,
                    self._tick(r.symbol, connection),
                )
                for r in rows
            ]

    def deliveries(self, account_id: str) -> list[DeliveryInfo]:
        """Delivery records where the account is the buyer or the provider."""
        with self._read() as connection:
            rows = connection.execute(
                sa.select(_deliveries)
                .where(sa.or_(_deliveries.c.buyer_id == account_id, _deliveries.c.provider_id == account_id))
                .order_by(_deliveries.c.id)
            )
            return [
                DeliveryInfo(
                    r.id,
                    r.symbol,
                    r.buyer_id,
                    r.provider_id,
                    r.listing_id,
                    r.gpus,
                    from_epoch_us(r.window_start_us),
                    from_epoch_us(r.window_end_us),
                    from_epoch_us(r.created_us),
                )
                for r in rows
            ]

    # ------------------------------------------------------------------ index, marks, settlement

    def add_fixings(
        self, product: str, fixings: Sequence[tuple[datetime, int]], source: str = "ingest"
    ) -> int:
        """Store index fixings ``(instant, micro-dollars per GPU-hour)``; repeats are skipped.

        Returns how many were new.
        """
        with self._db.begin() as connection:
            if connection.execute(sa.select(_products.c.id).where(_products.c.id == product)).first() is None:
                raise NotFoundError(f"no product {product!r}", field="product")
            return index.add(connection, product, [(to_epoch_us(at), p) for at, p in fixings], source)

    def fix_index_from_trades(self, product: str, day: datetime) -> FixingInfo | None:
        """Record the volume-weighted price of the ``day`` forward's trades as a fixing (source ``trades``)
        at the start of that day; None when the day forward has not traded."""
        window = Window(WindowKind.DAY, day)
        symbol = f"{product}-{window.label}"
        with self._db.begin() as connection:
            row = connection.execute(
                sa.select(_instruments).where(_instruments.c.symbol == symbol)
            ).one_or_none()
            if row is None:
                raise UnknownInstrumentError(f"no day forward {symbol}", field="day")
            inst = dict(row._mapping)
            vwap = index.vwap_micros(connection, symbol, multiplier(inst), inst["tick_micros"])
            if vwap is None:
                return None
            index.add(connection, product, [(inst["window_start_us"], vwap)], "trades")
        return FixingInfo(product, window.start, vwap, "trades")

    def fixings(
        self, product: str, *, start: datetime | None = None, end: datetime | None = None, limit: int = 1000
    ) -> list[FixingInfo]:
        """A product's fixings in ``[start, end)``, oldest first (at most ``limit``)."""
        query = sa.select(_fixings).where(_fixings.c.product == product)
        if start is not None:
            query = query.where(_fixings.c.at_us >= to_epoch_us(start))
        if end is not None:
            query = query.where(_fixings.c.at_us < to_epoch_us(end))
        query = query.order_by(_fixings.c.at_us, _fixings.c.id).limit(_limit(limit))
        with self._read() as connection:
            return [
                FixingInfo(r.product, from_epoch_us(r.at_us), r.price_micros, r.source)
                for r in connection.execute(query)
            ]

    def mark(self, symbol: str, *, greeks: bool = True) -> MarkInfo:
        """The pricing core's fair value (micro-dollars per GPU-hour) and Greeks for an instrument;
        ``no_mark`` when its product has no fixings."""
        now = self._now_us()
        with self._read() as connection:
            row = connection.execute(
                sa.select(_instruments).where(_instruments.c.symbol == symbol)
            ).one_or_none()
            if row is None:
                raise UnknownInstrumentError(f"no instrument {symbol!r}", field="symbol")
            chosen, result = marks.price(connection, dict(row._mapping), now, greeks=greeks)
        return MarkInfo(
            symbol=symbol,
            fair_value_micros=round(result["value"] * 1e6),
            forward_micros=round(result["forward"] * 1e6),
            greeks=result.get("greeks"),
            model=chosen,
            as_of=from_epoch_us(now),
        )

    def refresh_marks(self) -> dict[str, int]:
        """Recompute the margin per lot of every open margined instrument from its mark.

        Returns ``{symbol: margin_per_lot}`` for the instruments updated (products without fixings
        are skipped). New holds use the new margin; existing positions keep what they hold until
        they next trade.
        """
        updated = {}
        with self._transaction() as uow:
            for symbol, inst in self._books().instruments.items():
                margined = inst["kind"] != "forward" or inst["settlement"] == "cash"
                if not margined or inst["status"] not in (Status.OPEN, Status.HALTED):
                    continue
                try:
                    value = marks.margin_per_lot(uow.connection, inst, uow.now_us)
                except NoMarkError:
                    continue
                uow.connection.execute(
                    _instruments.update().where(_instruments.c.symbol == symbol).values(margin_per_lot=value)
                )
                inst["margin_per_lot"] = value
                updated[symbol] = value
        return updated

    def settle(self) -> SettlementReport:
        """Run every expiry, delivery, cash settlement and exercise that is due now (idempotent)."""
        with self._transaction() as uow:
            return settlement.run(uow, self._books())

    # ------------------------------------------------------------------ invariants

    def check(self) -> list[str]:
        """Every breached invariant (see :mod:`market.invariants`); empty when the market is sound.

        All checks read one snapshot (REPEATABLE READ on PostgreSQL, one read transaction on SQLite),
        so writers in other processes cannot make a sound market look broken.
        """
        with self._lock, self._read() as connection:
            if connection.dialect.name == "postgresql":
                connection = connection.execution_options(isolation_level="REPEATABLE READ")
            else:
                connection.exec_driver_sql("BEGIN")
            return check(connection)


# ---------------------------------------------------------------------- row -> record


def _limit(limit: int) -> int:
    if type(limit) is not int or not 0 < limit <= MAX_PAGE:
        raise InvalidRequestError(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    return limit


def _ppm(value: int, field: str) -> int:
    if type(value) is not int or not 0 <= value <= 100_000:
        raise InvalidRequestError("fees are parts per million between 0 and 100000 (10%)", field=field)
    return value


E = TypeVar("E")


def _enum(enum: type[E], value: str, field: str) -> E:
    try:
        return enum(value)  # type: ignore[call-arg]
    except ValueError:
        choices = ", ".join(m.value for m in enum)  # type: ignore[attr-defined]
        raise InvalidRequestError(f"{field} must be one of {choices}", field=field) from None


def _option_spec(
    underlying: str, kind: OptionKind, strike_ticks: int, tick_micros: int, style: str
) -> SymbolSpec:
    """The spec (and so the symbol) of an option on ``underlying``."""
    spec = parse_symbol(underlying)
    return SymbolSpec(
        product=spec.product,
        window=spec.window,
        kind=InstrumentKind.OPTION if style == "european" else InstrumentKind.ASIAN,
        option_kind=kind,
        strike=Decimal(strike_ticks * tick_micros).scaleb(-6),
    )


def _account(row: sa.Row) -> AccountInfo:
    return AccountInfo(row.id, row.name, tuple(row.roles.split(",")), from_epoch_us(row.created_us))


def _instrument(row: dict) -> InstrumentInfo:
    return InstrumentInfo(
        symbol=row["symbol"],
        product=row["product"],
        kind=row["kind"],
        settlement=row["settlement"],
        window_kind=row["window_kind"],
        window_start=from_epoch_us(row["window_start_us"]),
        window_end=from_epoch_us(row["window_end_us"]),
        hours=(row["window_end_us"] - row["window_start_us"]) // 3_600_000_000,
        tick_micros=row["tick_micros"],
        lot_gpus=row["lot_gpus"],
        multiplier_micros=multiplier(row),
        status=row["status"],
        expiry=from_epoch_us(row["expiry_us"]),
        underlying=row["underlying"],
        option_kind=row["option_kind"],
        strike_ticks=row["strike_ticks"],
        maker_fee_ppm=row["maker_fee_ppm"],
        taker_fee_ppm=row["taker_fee_ppm"],
        margin_per_lot_micros=row["margin_per_lot"],
        settle_price_micros=row["settle_price_micros"],
    )


def _listing(row: dict, covered: list[str]) -> ListingInfo:
    return ListingInfo(
        id=row["id"],
        provider_id=row["provider_id"],
        product=row["product"],
        region=row["region"],
        gpus=row["gpus"],
        window_start=from_epoch_us(row["window_start_us"]),
        window_end=from_epoch_us(row["window_end_us"]),
        reserve_price_micros=row["reserve_price_micros"],
        auto_offer=row["auto_offer"],
        spread_micros=row["spread_micros"],
        covers=tuple(covered),
        created_at=from_epoch_us(row["created_us"]),
    )


def _fill(trade: dict, tick: int, order_id: str) -> FillInfo:
    maker = trade["maker_order_id"] == order_id
    taker_side = trade["taker_side"]
    side = taker_side if not maker else ("sell" if taker_side == "buy" else "buy")
    return FillInfo(
        trade_id=trade["id"],
        order_id=order_id,
        symbol=trade["symbol"],
        side=side,
        price_ticks=trade["price_ticks"],
        qty=trade["qty"],
        liquidity="maker" if maker else "taker",
        fee_micros=trade["buyer_fee_micros"] if side == "buy" else trade["seller_fee_micros"],
        tick_micros=tick,
        created_at=from_epoch_us(trade["created_us"]),
    )


__all__ = ["Exchange", "utc_now"]
