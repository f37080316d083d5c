"""The exchange service: the one facade over the market's use cases.

:class:`Exchange` is what the API, the CLI and the tests call. It owns a :class:`market.house.House`
(the database, the clock, the order books and their writer lock) and hands it to the room that holds
each use case:

- :mod:`market.accounts`: accounts, roles and API keys;
- :mod:`market.cash`: balances, deposits, withdrawals and ledger entries;
- :mod:`market.catalog`: products, forwards, the rolling series, options and option chains, halts;
- :mod:`market.capacity`: providers' listings and their auto-offers;
- :mod:`market.orders`: order entry, cancel and amend (one transaction each, or one per batch);
- :mod:`market.queries`: orders, fills, trades, the book, positions and deliveries;
- :mod:`market.index`, :mod:`market.marks`, :mod:`market.settlement`: fixings, marks and margins,
  and the end of every contract;
- :mod:`market.clearing`: re-margining (variation and portfolio margin, calls, liquidation, the
  default fund and waterfall) and risk reports;
- :mod:`market.invariants`: the checks that the books, the ledger and the inventory agree.

Write use cases that touch the books run in one transaction under one lock and return only after the
commit; if anything fails after the engine moved, the books are rebuilt from the database (see
:meth:`market.house.House.transaction`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import sqlalchemy as sa

from market import accounts, capacity, cash, catalog, index, marks, orders, queries, settlement
from market.clearing import cases as clearing
from market.clearing.records import DefaultInfo, FundInfo, MarginCallInfo, MarginInfo, RiskReport
from market.clearing.remargin import RemarginReport
from market.errors import MarketError
from market.house import MAX_PAGE, House, utc_now
from market.invariants import check
from market.records import (
    AccountInfo,
    Balances,
    BookInfo,
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
from market.trading import Trading


class Exchange:
    """The market's use cases over one database.

    ``Exchange(engine)`` is cheap and serves the account, cash and read-only use cases at once;
    :meth:`start` rebuilds the order books from the database, verifies them and takes the books'
    writer locks -- it is needed (once) before anything that touches a book.
    """

    def __init__(
        self,
        engine: sa.Engine,
        clock: Callable[[], datetime] = utc_now,
        *,
        max_open_orders: int | None = None,
    ) -> None:
        """``max_open_orders``: the most live orders one account may hold (None: no cap)."""
        self._house = House(engine, clock, max_open_orders)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Rebuild every book from the command log, check it against the stored orders and lock it.

        Books whose rebuilt state differs from the database are refused (orders on them fail with
        ``recovery_mismatch``); :class:`BookUnavailableError` if another instance holds a book.
        """
        self._house.start()

    def close(self) -> None:
        """Release the books' locks; the instance serves no book afterwards."""
        self._house.close()

    def __enter__(self) -> Exchange:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def refused_books(self) -> frozenset[str]:
        """Books that failed their recovery check and do not trade."""
        return frozenset(self._house.books().refused)

    @property
    def _clock(self) -> Callable[[], datetime]:
        return self._house.clock

    @_clock.setter
    def _clock(self, clock: Callable[[], datetime]) -> None:
        self._house.clock = clock

    def _books(self) -> Trading:
        return self._house.books()

    def now(self) -> datetime:
        """The exchange clock's current instant (UTC), never going backwards within this instance."""
        return self._house.now()

    # ------------------------------------------------------------------ accounts and keys

    def create_account(self, name: str, roles: Sequence[str] | str) -> CreatedAccount:
        """Create an account with ``roles`` and its first API key (returned once, stored hashed)."""
        return accounts.create_account(self._house, name, roles)

    def issue_api_key(self, account_id: str) -> str:
        """A new API key for an existing account (returned once)."""
        return accounts.issue_api_key(self._house, account_id)

    def revoke_api_key(self, key_or_prefix: str) -> None:
        """Revoke a key, named by the key itself or by its 12-character prefix."""
        accounts.revoke_api_key(self._house, key_or_prefix)

    def authenticate(self, api_key: str) -> AccountInfo:
        """The account an API key belongs to; :class:`UnauthorizedError` if unknown or revoked."""
        return accounts.authenticate(self._house, api_key)

    def account(self, account_id: str) -> AccountInfo:
        """One account."""
        return accounts.account(self._house, account_id)

    def accounts(self) -> list[AccountInfo]:
        """Every account, oldest first."""
        return accounts.all_accounts(self._house)

    # ------------------------------------------------------------------ cash

    def balances(self, account_id: str) -> Balances:
        """Cash, reserved, margin and available balances of an account, in micro-dollars."""
        return cash.balances(self._house, account_id)

    def deposit(self, account_id: str, amount_micros: int, idempotency_key: str) -> TransferInfo:
        """Credit cash from outside. The same key with the same amount returns the first deposit."""
        return cash.external(self._house, account_id, amount_micros, idempotency_key, "deposit")

    def withdraw(self, account_id: str, amount_micros: int, idempotency_key: str) -> TransferInfo:
        """Pay available cash out. The same key with the same amount returns the first withdrawal."""
        return cash.external(self._house, account_id, amount_micros, idempotency_key, "withdrawal")

    def ledger(self, account_id: str, *, after: int | None = None, limit: int = 100) -> list[EntryInfo]:
        """An account's ledger entries, oldest first, after entry id ``after``."""
        return cash.entries(self._house, account_id, after=after, limit=limit)

    # ------------------------------------------------------------------ products and instruments

    def create_product(
        self, product_id: str, description: str = "", region: str | None = None
    ) -> ProductInfo:
        """Register a GPU class (e.g. ``H100``)."""
        return catalog.create_product(self._house, product_id, description, region)

    def products(self) -> list[ProductInfo]:
        """Every product."""
        return catalog.products(self._house)

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
        """List a forward on the ``window_kind`` window (day, week, month) starting at ``start``."""
        return catalog.create_forward(
            self._house,
            product,
            window_kind,
            start,
            settlement,
            tick_micros=tick_micros,
            lot_gpus=lot_gpus,
            maker_fee_ppm=maker_fee_ppm,
            taker_fee_ppm=taker_fee_ppm,
        )

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
        """Create the rolling series: the next ``months`` months, ``weeks`` ISO weeks and ``days`` days."""
        return catalog.create_series(
            self._house,
            product,
            months=months,
            weeks=weeks,
            days=days,
            settlement=settlement,
            tick_micros=tick_micros,
            lot_gpus=lot_gpus,
        )

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
        """List a European or Asian option on a forward."""
        return catalog.create_option(
            self._house,
            underlying,
            option_kind,
            strike_ticks,
            style=style,
            expiry_business_days=expiry_business_days,
            calendar=calendar,
        )

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
        """Calls and puts on ``underlying`` at a strike grid around its mark."""
        return catalog.create_option_chain(
            self._house,
            underlying,
            strikes=strikes,
            step_bps=step_bps,
            style=style,
            expiry_business_days=expiry_business_days,
            calendar=calendar,
        )

    def instruments(
        self, *, product: str | None = None, kind: str | None = None, status: str | None = None
    ) -> list[InstrumentInfo]:
        """Instruments, filtered, ordered by product, delivery start and symbol."""
        return catalog.instruments(self._house, product=product, kind=kind, status=status)

    def instrument(self, symbol: str) -> InstrumentInfo:
        """One instrument; ``unknown_instrument`` if there is none."""
        return catalog.instrument(self._house, symbol)

    def set_status(self, symbol: str, status: str) -> InstrumentInfo:
        """Halt (``halted``) or resume (``open``) an instrument."""
        return catalog.set_status(self._house, symbol, status)

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
        """List ``gpus`` GPUs of ``product`` for every hour of ``[start, end)``."""
        return capacity.create_listing(
            self._house,
            provider_id,
            product,
            gpus,
            start,
            end,
            region=region,
            reserve_price_micros=reserve_price_micros,
            auto_offer=auto_offer,
            spread_micros=spread_micros,
        )

    def listings(self, provider_id: str) -> list[ListingInfo]:
        """A provider's listings, oldest first, each with the forwards it covers."""
        return capacity.provider_listings(self._house, provider_id)

    def listing(self, provider_id: str, listing_id: int) -> ListingInfo:
        """One of the provider's listings (another provider's is ``not_found``)."""
        return capacity.listing(self._house, provider_id, listing_id)

    def reduce_listing(self, provider_id: str, listing_id: int, gpus: int) -> ListingInfo:
        """Lower a listing to ``gpus`` GPUs; refused below what is sold or offered in a covered forward."""
        return capacity.reduce_listing(self._house, provider_id, listing_id, gpus)

    def withdraw_listing(self, provider_id: str, listing_id: int) -> ListingInfo:
        """Withdraw as much of a listing as is unsold and not offered; returns what remains."""
        return capacity.withdraw_listing(self._house, provider_id, listing_id)

    # ------------------------------------------------------------------ orders

    def place_order(self, account_id: str, request: OrderRequest) -> OrderInfo:
        """Validate, hold and match a new order; returns it after the commit (see :mod:`market.orders`)."""
        return orders.place_order(self._house, account_id, request)

    def place_orders(self, batch: Sequence[tuple[str, OrderRequest]]) -> list[OrderInfo | MarketError]:
        """Place several orders in ONE transaction (grouped commit); one result or error per order."""
        return orders.place_orders(self._house, batch)

    def cancel_order(self, account_id: str, order_id: str) -> OrderInfo:
        """Cancel a live order; ``not_found`` for another account's order, ``order_closed`` if done."""
        return orders.cancel_order(self._house, account_id, order_id)

    def open_order_count(self, account_id: str) -> int:
        """How many live orders the account holds, in O(1) (kept with the books, not counted)."""
        return orders.open_order_count(self._house, account_id)

    def cancel_orders(self, account_id: str, symbol: str | None = None) -> list[OrderInfo]:
        """Cancel every live order of the account (in one book, or everywhere)."""
        return orders.cancel_orders(self._house, account_id, symbol)

    def amend_order(
        self, account_id: str, order_id: str, *, qty: int | None = None, price_ticks: int | None = None
    ) -> OrderInfo:
        """Change a live order's open quantity and/or price (a decrease keeps priority)."""
        return orders.amend_order(self._house, account_id, order_id, qty=qty, price_ticks=price_ticks)

    # ------------------------------------------------------------------ reads

    def order(self, account_id: str, order_id: str) -> OrderInfo:
        """One of the account's orders with its fills (another account's is ``not_found``)."""
        return queries.order(self._house, account_id, order_id)

    def order_by_client_id(self, account_id: str, client_order_id: str) -> OrderInfo:
        """The account's order with that ``client_order_id``."""
        return queries.order_by_client_id(self._house, account_id, client_order_id)

    def orders(
        self,
        account_id: str,
        *,
        status: str | None = None,
        symbol: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[OrderInfo]:
        """The account's orders, oldest first, after order id ``after`` (``status`` ``live``: open ones)."""
        return queries.orders(self._house, account_id, status=status, symbol=symbol, after=after, limit=limit)

    def fills(self, account_id: str, *, after: int | None = None, limit: int = 100) -> list[FillInfo]:
        """The account's fills, oldest first, after trade id ``after``."""
        return queries.fills(self._house, account_id, after=after, limit=limit)

    def trades(self, symbol: str, *, after: int | None = None, limit: int = 100) -> list[TradeInfo]:
        """Public trades of an instrument, oldest first, after trade id ``after``."""
        return queries.trades(self._house, symbol, after=after, limit=limit)

    def trades_between(self, symbol: str, start: datetime, end: datetime) -> list[TradeInfo]:
        """Public trades of an instrument with ``start <= created_at < end``, oldest first."""
        return queries.trades_between(self._house, symbol, start, end)

    def book(self, symbol: str, depth: int | None = None) -> BookInfo:
        """The order book of an instrument, ``depth`` levels a side (all by default)."""
        return queries.book(self._house, symbol, depth)

    def positions(
        self, account_id: str, *, after: str | None = None, limit: int | None = None
    ) -> list[PositionInfo]:
        """The account's positions (non-zero or still holding margin) by symbol, after ``after``."""
        return queries.positions(self._house, account_id, after=after, limit=limit)

    def deliveries(
        self, account_id: str, *, after: int | None = None, limit: int | None = None
    ) -> list[DeliveryInfo]:
        """Delivery records where the account is the buyer or the provider, by id, after ``after``."""
        return queries.deliveries(self._house, account_id, after=after, limit=limit)

    # ------------------------------------------------------------------ index, marks, settlement

    def add_fixings(
        self, product: str, fixings: Sequence[tuple[datetime, int]], source: str = "ingest"
    ) -> int:
        """Store index fixings ``(instant, micro-dollars per GPU-hour)``; returns how many were new."""
        return index.add_fixings(self._house, product, fixings, source)

    def fix_index_from_trades(self, product: str, day: datetime) -> FixingInfo | None:
        """Record the VWAP of the ``day`` forward's trades as a fixing; None when it has not traded."""
        return index.fix_from_trades(self._house, product, day)

    def fixings(
        self, product: str, *, start: datetime | None = None, end: datetime | None = None, limit: int = 1000
    ) -> list[FixingInfo]:
        """A product's fixings in ``[start, end)``, oldest first (at most ``limit``)."""
        return index.fixings(self._house, product, start=start, end=end, limit=limit)

    def mark(self, symbol: str, *, greeks: bool = True) -> MarkInfo:
        """The pricing core's fair value and Greeks for an instrument; ``no_mark`` without fixings."""
        return marks.mark(self._house, symbol, greeks=greeks)

    def refresh_marks(self) -> dict[str, int]:
        """Recompute the margin per lot of every open margined instrument from its mark."""
        return marks.refresh_marks(self._house)

    def settle(self) -> SettlementReport:
        """Run every expiry, delivery, cash settlement and exercise that is due now (idempotent)."""
        return settlement.settle(self._house)

    # ------------------------------------------------------------------ clearing

    def remargin(self) -> RemarginReport:
        """One re-margining pass (:mod:`market.clearing.remargin`): marks, variation margin, portfolio
        margin, margin calls, liquidation, the default fund -- all in one transaction."""
        return clearing.remargin(self._house)

    def margin_calls(self, account_id: str | None = None, status: str | None = None) -> list[MarginCallInfo]:
        """Margin calls, newest first: one account's, or every account's (``None``)."""
        return clearing.margin_calls(self._house, account_id, status)

    def margins(self, account_id: str) -> list[MarginInfo]:
        """The account's portfolio margin per product at the last pass, with its parts."""
        return clearing.margins(self._house, account_id)

    def defaults(self) -> list[DefaultInfo]:
        """Every default and its waterfall, newest first."""
        return clearing.defaults(self._house)

    def default_fund(self) -> FundInfo:
        """The default fund's contributions and the exchange's capital slice."""
        return clearing.default_fund(self._house)

    def fund_capital(self, amount_micros: int) -> FundInfo:
        """Commit ``amount_micros`` of the exchange's own capital to the default waterfall."""
        return clearing.fund_capital(self._house, amount_micros)

    def risk(self, account_id: str) -> RiskReport:
        """The account's risk report: Greeks, VaR/ES, stress per product and its margin breakdown."""
        return clearing.risk(self._house, account_id)

    # ------------------------------------------------------------------ invariants

    def check(self) -> list[str]:
        """Every breached invariant (see :mod:`market.invariants`); empty when the market is sound.

        All checks read one snapshot (REPEATABLE READ on PostgreSQL, one read transaction on SQLite),
        so writers in other processes cannot make a sound market look broken.
        """
        with self._house.lock, self._house.read() as connection:
            if connection.dialect.name == "postgresql":
                connection = connection.execution_options(isolation_level="REPEATABLE READ")
            else:
                connection.exec_driver_sql("BEGIN")
            return check(connection)


__all__ = ["MAX_PAGE", "Exchange", "utc_now"]
