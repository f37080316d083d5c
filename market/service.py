"""The exchange service: the one facade over the market's use cases.

:class:`Exchange` is what the API, the CLI and the tests call. It owns a :class:`market.house.House`
(the database, the clock, the order books and their writer lock) and hands it to the room that holds
each use case:

- :mod:`market.accounts`: accounts, roles and API keys;
- :mod:`market.cash`: balances, deposits, withdrawals and ledger entries; :mod:`market.statements`:
  statements (one line per business event, running balance, CSV);
- :mod:`market.catalog`: products, forwards, the rolling series, options and option chains, halts;
- :mod:`market.capacity`: providers' listings and their auto-offers; :mod:`market.provider_view`:
  their inventory per forward, receivables and collateral;
- :mod:`market.orders`: order entry, cancel and amend (one transaction each, or one per batch);
- :mod:`market.cancel_timers`: the dead-man switch (cancel all after a timeout unless renewed);
- :mod:`market.queries`: orders, fills, trades, the book, positions and deliveries;
- :mod:`market.index`, :mod:`market.marks`, :mod:`market.settlement`: fixings, marks and margins,
  and the end of every contract;
- :mod:`market.handoff`: access handles attached ahead of the window, upcoming deliveries;
- :mod:`market.delivery`: physical delivery day by day (access handles, confirmations, disputes,
  the escrow released per day and the providers' collateral);
- :mod:`market.clearing`: re-margining (variation and portfolio margin, calls, liquidation, the
  default fund and waterfall) and risk reports;
- :mod:`market.rebuild`: the difference between a refused book and its replay, and its rebuild;
- :mod:`market.securitization`: securitised pools of listings, their notes and their servicing;
- :mod:`market.hedges`: the buyer's desk (a hedge plan executed as orders, tracked, re-planned);
- :mod:`market.baskets`: basket funds (units on a strip of forwards, NAV, creation and redemption);
- :mod:`market.invariants`: the checks that the books, the ledger and the inventory agree.

Each public method is the room's function with the house bound (:func:`_use`): its name, signature and
docstring are the room's, so they are written once.

Write use cases that touch the books run in one transaction under one lock and return only after the
commit; if anything fails after the engine moved, the books are rebuilt from the database (see
:meth:`market.house.House.transaction`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Concatenate, ParamSpec, TypeVar

import sqlalchemy as sa

import market.accounts
import market.baskets.flows
import market.baskets.funds
import market.baskets.valuation
import market.baskets.windup
import market.cancel_timers
import market.capacity
import market.cash
import market.catalog
import market.clearing.cases
import market.delivery
import market.handoff
import market.hedges.cases
import market.index
import market.marks
import market.models
import market.orders
import market.provider_view
import market.queries
import market.rebuild
import market.securitization.pools
import market.securitization.reports
import market.securitization.servicing
import market.settlement
import market.statements
from market.changes import answers_only
from market.house import MAX_PAGE, House, utc_now
from market.invariants import check
from market.records import Committed
from market.trading import Trading

P = ParamSpec("P")
R = TypeVar("R")


def _use(use_case: Callable[Concatenate[House, P], R]) -> Callable[Concatenate[Exchange, P], R]:
    """A facade method calling ``use_case`` with the exchange's house (signature and docstring kept)."""

    @functools.wraps(use_case)
    def method(self: Exchange, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return use_case(self._house, *args, **kwargs)

    return method


def _value(use_case: Callable[Concatenate[House, P], Committed[R]]) -> Callable[Concatenate[Exchange, P], R]:
    """A facade method answering what ``use_case`` answers, without what its commit changed (the
    ``..._committed`` method gives both)."""

    @functools.wraps(use_case)
    def method(self: Exchange, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with answers_only():
            return use_case(self._house, *args, **kwargs).value

    return method


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
        products: Iterable[str] | None = None,
    ) -> None:
        """``max_open_orders``: the most live orders one account may hold (None: no cap);
        ``products``: hold the books of these products only, as a shard (PostgreSQL, see
        docs/scaling.md); None holds every book."""
        held = None if products is None else frozenset(products)
        self._house = House(engine, clock, max_open_orders, held)

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

    @property
    def started(self) -> bool:
        """Whether this instance holds the books (it was started and not closed)."""
        return self._house.started

    def __enter__(self) -> Exchange:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def shard_products(self) -> frozenset[str] | None:
        """The products whose books this instance holds as a shard (None: every book)."""
        return self._house.products

    def holds(self, product: str) -> bool:
        """Whether this instance holds (once started) the books of ``product``."""
        return self._house.holds(product)

    def elect(self) -> bool:
        """Whether this instance runs the account-wide clearing pass (a single writer always; a shard
        while it holds the clearing lock, which it takes here if free)."""
        return self._house.elect()

    def adopt(self, product: str) -> None:
        """A started shard takes over the books of ``product`` too (its holder died); raises
        :class:`~market.errors.BookUnavailableError` while another process holds them."""
        self._house.adopt(product)

    def release(self, product: str, announce: Callable[[], None]) -> None:
        """A shard hands the books of ``product`` over to another (a planned move): it stops serving
        them, calls ``announce``, then frees their locks (:meth:`market.house.House.release`)."""
        self._house.release(product, announce)

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

    # accounts and keys
    create_account = _use(market.accounts.create_account)
    issue_api_key = _use(market.accounts.issue_api_key)
    revoke_api_key = _use(market.accounts.revoke_api_key)
    authenticate = _use(market.accounts.authenticate)
    key_holder = _use(market.accounts.key_holder)
    api_keys = _use(market.accounts.api_keys)
    account = _use(market.accounts.account)
    accounts = _use(market.accounts.all_accounts)

    # cash
    balances = _use(market.cash.balances)
    deposit = _use(market.cash.deposit)
    withdraw = _use(market.cash.withdraw)
    ledger = _use(market.cash.entries)
    statement = _use(market.statements.statement)
    ledger_version = _use(market.cash.ledger_version)

    # products and instruments
    create_product = _use(market.catalog.create_product)
    products = _use(market.catalog.products)
    create_forward = _use(market.catalog.create_forward)
    create_series = _use(market.catalog.create_series)
    create_option = _use(market.catalog.create_option)
    create_option_chain = _use(market.catalog.create_option_chain)
    instruments = _use(market.catalog.instruments)
    instrument = _use(market.catalog.instrument)
    set_status = _use(market.catalog.set_status)
    product_schedule = _use(market.catalog.product_schedule)
    set_product_schedule = _use(market.catalog.set_product_schedule)

    # listings
    create_listing = _use(market.capacity.create_listing)
    listings = _use(market.capacity.provider_listings)
    listing = _use(market.capacity.listing)
    reduce_listing = _use(market.capacity.reduce_listing)
    withdraw_listing = _use(market.capacity.withdraw_listing)
    set_auto_offer = _use(market.capacity.set_auto_offer)
    refresh_auto_offers = _use(market.capacity.refresh_auto_offers)
    listing_inventory = _use(market.provider_view.listing_inventory)
    inventory_summary = _use(market.provider_view.inventory_summary)

    # orders
    place_order = _use(market.orders.place_order)
    place_orders = _value(market.orders.place_orders)
    place_orders_committed = _use(market.orders.place_orders)
    place_oco = _value(market.orders.place_oco)
    place_oco_committed = _use(market.orders.place_oco)
    pair = _use(market.orders.pair)
    cancel_order = _value(market.orders.cancel_order)
    cancel_order_committed = _use(market.orders.cancel_order)
    cancel_orders = _value(market.orders.cancel_orders)
    cancel_orders_committed = _use(market.orders.cancel_orders)
    amend_order = _value(market.orders.amend_order)
    amend_order_committed = _use(market.orders.amend_order)
    advance_clock = _use(market.orders.advance_clock)
    next_order_expiry = _use(market.orders.next_order_expiry)
    open_order_count = _use(market.orders.open_order_count)
    arm_cancel_timer = _use(market.cancel_timers.arm_cancel_timer)
    cancel_timer = _use(market.cancel_timers.cancel_timer)
    fire_cancel_timers = _use(market.cancel_timers.fire_cancel_timers)
    next_cancel_deadline = _use(market.cancel_timers.next_cancel_deadline)

    # reads
    order = _use(market.queries.order)
    order_by_client_id = _use(market.queries.order_by_client_id)
    orders = _use(market.queries.orders)
    fills = _use(market.queries.fills)
    trades = _use(market.queries.trades)
    trades_between = _use(market.queries.trades_between)
    book = _use(market.queries.book)
    positions = _use(market.queries.positions)
    deliveries = _use(market.queries.deliveries)

    # physical delivery: access handles, days confirmed or disputed, collateral
    delivery = _use(market.delivery.delivery)
    attach_access = _use(market.delivery.attach_access)
    confirm_delivery_day = _use(market.delivery.confirm_day)
    dispute_delivery_day = _use(market.delivery.dispute_day)
    resolve_delivery_dispute = _use(market.delivery.resolve_dispute)
    run_deliveries = _use(market.delivery.run_deliveries)
    attach_access_ahead = _use(market.handoff.attach_ahead)
    access_ahead = _use(market.handoff.access_ahead)
    upcoming_deliveries = _use(market.handoff.upcoming)

    # index, marks, settlement
    add_fixings = _use(market.index.add_fixings)
    fix_index_from_trades = _use(market.index.fix_from_trades)
    fixings = _use(market.index.fixings)
    fixings_since = _use(market.index.fixings_since)
    settled_on = _use(market.index.settled_on)
    mark = _use(market.marks.mark)
    refresh_marks = _use(market.marks.refresh_marks)
    stale_indexes = _use(market.marks.stale_indexes)
    refresh_models = _use(market.models.refresh_models)
    product_model = _use(market.models.product_model)
    settle = _use(market.settlement.settle)

    # recovery
    book_diff = _use(market.rebuild.book_diff)
    rebuild_book = _use(market.rebuild.rebuild_book)

    # clearing
    remargin = _use(market.clearing.cases.remargin)
    remargin_if_moved = _use(market.clearing.cases.remargin_if_moved)
    drain_clearing = _use(market.clearing.cases.drain_clearing)
    clearing_instructions = _use(market.clearing.cases.clearing_instructions)
    moved_products = _use(market.clearing.cases.moved_products)
    margin_calls = _use(market.clearing.cases.margin_calls)
    margins = _use(market.clearing.cases.margins)
    defaults = _use(market.clearing.cases.defaults)
    default_fund = _use(market.clearing.cases.default_fund)
    fund_capital = _use(market.clearing.cases.fund_capital)
    risk = _use(market.clearing.cases.risk)

    # securitised pools
    create_pool = _use(market.securitization.pools.create_pool)
    pools = _use(market.securitization.pools.pools)
    pool = _use(market.securitization.pools.pool)
    report_pool_usage = _use(market.securitization.pools.report_usage)
    service_pools = _use(market.securitization.servicing.service_due)
    next_pool_due_us = _use(market.securitization.servicing.next_due_us)
    pool_report = _use(market.securitization.reports.report)

    # the buyer's desk
    execute_hedge = _use(market.hedges.cases.execute_hedge)
    hedge = _use(market.hedges.cases.hedge)
    hedges = _use(market.hedges.cases.hedges)
    replan_hedge = _use(market.hedges.cases.replan_hedge)
    cancel_hedge = _use(market.hedges.cases.cancel_hedge)

    # basket funds
    create_basket = _use(market.baskets.funds.create_basket)
    authorise_participant = _use(market.baskets.funds.authorise)
    basket = _use(market.baskets.funds.basket_info)
    baskets = _use(market.baskets.funds.baskets)
    basket_nav = _use(market.baskets.valuation.nav)
    basket_navs = _use(market.baskets.valuation.nav_history)
    publish_navs = _use(market.baskets.valuation.publish_navs)
    basket_flow = _use(market.baskets.flows.flow)
    basket_flows = _use(market.baskets.flows.flows)
    wind_up_basket = _use(market.baskets.windup.wind_up)
    wind_up_baskets = _use(market.baskets.windup.wind_up_due)


__all__ = ["MAX_PAGE", "Exchange", "utc_now"]
