"""A hypothesis state machine drives the exchange through deposits, withdrawals, listings, orders
(reduce-only too), cancels, amends, the clock, index moves, re-margining (variation margin, margin
calls, liquidations, defaults), resales, delivery (access, days confirmed, disputed and decided) and
settlement, and checks every invariant after every step (SQLite; a
shorter run on PostgreSQL): the ledger sums to zero including the default fund, no balance is negative
after the waterfall, positions net to zero per instrument, liquidations never trade outside their
band."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from market.clearing.calls import CALL_HOURS
from market.db import make_engine
from market.errors import MarketError
from market.records import OrderRequest
from market.service import Exchange
from market.tables import Liquidation, Trade
from market.units import to_epoch_us
from tests.market.conftest import DECEMBER, JANUARY, START, Clock

SYMBOLS = ["H100-2026-12", "H100-2026-11-25", "H100-2026-11-26", "A100-2026-12", "A100-2026-12-AC1.50"]
prices = st.integers(min_value=1490, max_value=1510)
quantities = st.integers(min_value=1, max_value=4)


def machine(new_database: Callable[[], str], drop: Callable[[str], None]) -> type[RuleBasedStateMachine]:
    """The state machine class; each example runs on a fresh migrated database from ``new_database``."""

    class ExchangeMachine(RuleBasedStateMachine):
        """Random traffic from one provider and two traders on physical and cash-settled forwards."""

        @initialize()
        def open_market(self) -> None:
            self.url = new_database()
            self.engine = make_engine(self.url)
            self.clock = Clock(START)
            self.ex = Exchange(self.engine, clock=self.clock)
            self.ex.start()
            self.ex.create_product("H100", collateral_per_gpu_day_micros=1_000_000)
            self.ex.create_product("A100")
            self.ex.create_series("H100", months=1, weeks=0, days=2)
            self.ex.create_series("A100", months=1, weeks=0, days=0, settlement="cash")
            self.ex.add_fixings(
                "A100", [(START - timedelta(days=d), 1_500_000 + 10_000 * (d % 3)) for d in range(12)]
            )
            self.ex.create_option("A100-2026-12", "call", 1500, style="asian")
            self.ex.refresh_marks()
            self.steps = 0
            self.placed = 0
            self.provider = self.ex.create_account("p", ["provider"]).account.id
            self.traders = [self.ex.create_account(n, ["trader"]).account.id for n in ("t1", "t2")]
            for trader in self.traders:
                self.ex.deposit(trader, 20_000_000_000, f"seed-{trader}")
            self.ex.deposit(self.provider, 2_000_000_000, "seed-provider")  # listings post collateral
            tomorrow = START.replace(hour=0) + timedelta(days=1)
            self.ex.create_listing(self.provider, "H100", 6, DECEMBER, JANUARY)
            self.ex.create_listing(self.provider, "H100", 6, tomorrow, tomorrow + timedelta(days=2))
            self.keys = 0
            self.last_fix = 1_550_000

        def teardown(self) -> None:
            if hasattr(self, "ex"):
                self.ex.close()
                self.engine.dispose()
                drop(self.url)

        def _attempt(self, action: Callable[..., object], *args: object, **kwargs: object) -> object:
            try:
                return action(*args, **kwargs)
            except MarketError:
                return None  # a refusal is a legitimate outcome; anything else is a bug

        @rule(who=st.integers(0, 1), usd=st.integers(1, 5_000))
        def deposit(self, who: int, usd: int) -> None:
            self.keys += 1
            self.ex.deposit(self.traders[who], usd * 1_000_000, f"k{self.keys}")

        @rule(gpus=st.integers(1, 5), whole_month=st.booleans())
        def list_capacity(self, gpus: int, whole_month: bool) -> None:
            start, end = (
                (DECEMBER, JANUARY) if whole_month else (START.replace(hour=0) + timedelta(days=1), DECEMBER)
            )
            self._attempt(self.ex.create_listing, self.provider, "H100", gpus, start, end)

        @rule(data=st.data())
        def shrink_listing(self, data: st.DataObject) -> None:
            listings = self.ex.listings(self.provider)
            if listings:
                listing = data.draw(st.sampled_from(listings))
                self._attempt(self.ex.withdraw_listing, self.provider, listing.id)

        @rule(
            who=st.integers(0, 1),
            symbol=st.sampled_from(SYMBOLS),
            side=st.sampled_from(["buy", "sell"]),
            kind=st.sampled_from(["limit", "limit", "limit", "market", "ioc", "post_only", "iceberg"]),
            qty=quantities,
            price=prices,
            stp=st.sampled_from(["cancel_newest", "cancel_oldest", "decrement", "none"]),
        )
        def place(self, who: int, symbol: str, side: str, kind: str, qty: int, price: int, stp: str) -> None:
            physical_sell = side == "sell" and symbol.startswith("H100")
            account = self.provider if physical_sell else self.traders[who]
            request = OrderRequest(
                symbol=symbol,
                side=side,
                qty=qty,
                type="market" if kind == "market" else "limit",
                price_ticks=None if kind == "market" else price,
                tif="ioc" if kind in ("ioc", "market") else "gtc",
                post_only=kind == "post_only",
                display_qty=1 if kind == "iceberg" else None,
                stp=stp,
                client_order_id=f"{self.placed:06d}",
            )
            self.placed += 1
            self._attempt(self.ex.place_order, account, request)

        @rule(who=st.integers(0, 1), symbol=st.sampled_from(SYMBOLS[:3]), qty=quantities, price=prices)
        def buy_gpu_hours(self, who: int, symbol: str, qty: int, price: int) -> None:
            """The provider offers physical GPU-hours and a trader takes them (so delivery has holders)."""
            self._cross(symbol, qty, price, self.provider, self.traders[who])

        @rule(data=st.data(), extra=st.integers(0, 2), price=prices)
        def resell(self, data: st.DataObject, extra: int, price: int) -> None:
            """A trader resells physical GPU-hours it holds (``extra`` lots more are refused) and the
            other trader bids for them."""
            held = [
                (who, p.symbol, p.qty)
                for who, trader in enumerate(self.traders)
                for p in self.ex.positions(trader)
                if p.symbol in SYMBOLS[:3] and p.qty > 0
            ]
            if not held:
                return
            who, symbol, qty = data.draw(st.sampled_from(held))
            qty += extra if extra == 2 else -min(extra, qty - 1)
            self._cross(symbol, qty, price, self.traders[who], self.traders[1 - who])

        @rule(data=st.data(), action=st.sampled_from(["access", "confirm", "dispute", "uphold", "reject"]))
        def deliver(self, data: st.DataObject, action: str) -> None:
            """The provider attaches access; buyers confirm or dispute days; an admin decides disputes."""
            deliveries = self.ex.deliveries(self.provider)
            if not deliveries:
                return
            item = data.draw(st.sampled_from(deliveries))
            if action == "access":
                self._attempt(self.ex.attach_access, self.provider, item.id, f"ssh://node-{item.id}")
                return
            day = data.draw(st.sampled_from(item.days))
            day_us = to_epoch_us(day.day)
            if action == "confirm":
                self._attempt(self.ex.confirm_delivery_day, item.buyer_id, item.id, day_us)
            elif action == "dispute":
                self._attempt(self.ex.dispute_delivery_day, item.buyer_id, item.id, day_us, "down")
            else:
                self._attempt(self.ex.resolve_delivery_dispute, item.id, day_us, action == "uphold")

        @rule(data=st.data())
        def attach_ahead(self, data: st.DataObject) -> None:
            """Before a window starts, the provider attaches the handle for a listing and a forward
            (after the start, or for a forward it does not cover, it is refused)."""
            listing = data.draw(st.sampled_from(self.ex.listings(self.provider)))
            symbol = data.draw(st.sampled_from(SYMBOLS[:3]))
            self._attempt(self.ex.attach_access_ahead, self.provider, listing.id, symbol, f"ssh://{symbol}")

        @rule()
        def delivery_duty(self) -> None:
            self.ex.run_deliveries()

        @precondition(lambda self: self.steps > 8)
        @rule(hours=st.integers(1, 6))
        def delivery_begins(self, hours: int) -> None:
            """The first day forward's delivery starts (and its holders get delivery records)."""
            first_day = START.replace(hour=0) + timedelta(days=1)
            if self.clock.now < first_day:
                self.clock.now = first_day + timedelta(hours=hours)
                self.ex.settle()

        def _cross(self, symbol: str, qty: int, price: int, seller: str, buyer: str) -> None:
            """A sell and a buy at one price (client order ids keep :meth:`_live`'s order reproducible)."""
            for account, side in ((seller, "sell"), (buyer, "buy")):
                request = OrderRequest(
                    symbol=symbol, side=side, qty=qty, price_ticks=price, client_order_id=f"{self.placed:06d}"
                )
                self.placed += 1
                self._attempt(self.ex.place_order, account, request)

        def _live(self) -> list:
            """Live orders in placement order (order ids are random: sorting by them would make the
            examples irreproducible)."""
            live = [o for a in [self.provider, *self.traders] for o in self.ex.orders(a, status="live")]
            return sorted(live, key=lambda o: o.client_order_id or "")

        @rule(data=st.data())
        def cancel(self, data: st.DataObject) -> None:
            live = self._live()
            if live:
                target = data.draw(st.sampled_from(live))
                self._attempt(self.ex.cancel_order, target.account_id, target.id)

        @rule(data=st.data(), qty=quantities, price=st.none() | prices)
        def amend(self, data: st.DataObject, qty: int, price: int | None) -> None:
            live = self._live()
            if live:
                target = data.draw(st.sampled_from(live))
                self._attempt(self.ex.amend_order, target.account_id, target.id, qty=qty, price_ticks=price)

        @rule(hours=st.integers(1, 8))
        def time_passes(self, hours: int) -> None:
            self.clock.advance(hours=hours)
            self.ex.add_fixings(
                "A100", [(self.clock.now.replace(minute=0, second=0), self.last_fix)], source="tick"
            )

        @rule()
        def settle(self) -> None:
            self.ex.settle()

        @rule(who=st.integers(0, 1), percent=st.integers(50, 100))
        def withdraw(self, who: int, percent: int) -> None:
            """Thin an account out, so that moves against it end in calls, liquidations and defaults."""
            available = self.ex.balances(self.traders[who]).available * percent // 100
            if available:
                self.keys += 1
                self.ex.withdraw(self.traders[who], available, f"w{self.keys}")

        @rule(move=st.sampled_from([-40, -20, -8, -3, 3, 8, 20, 60]))
        def index_moves(self, move: int) -> None:
            """The index jumps by ``move`` percent (a new generation, a scarcity spike, noise)."""
            self.clock.advance(minutes=30)
            self.last_fix = max(self.last_fix * (100 + move) // 100, 100_000)
            self.ex.add_fixings("A100", [(self.clock.now, self.last_fix)], source="move")

        @rule()
        def remargin(self) -> None:
            report = self.ex.remargin()
            for happened, what in (
                (report.calls_opened, "margin call"),
                (report.liquidated_lots, "liquidation fill"),
                (report.defaults, "default"),
            ):
                if happened:
                    event(what)

        @rule(who=st.integers(0, 1), symbol=st.sampled_from(SYMBOLS[3:]), qty=quantities)
        def reduce(self, who: int, symbol: str, qty: int) -> None:
            positions = {p.symbol: p.qty for p in self.ex.positions(self.traders[who])}
            side = "sell" if positions.get(symbol, 0) > 0 else "buy"
            request = OrderRequest(symbol, side, qty, "market", tif="ioc", reduce_only=True)
            self._attempt(self.ex.place_order, self.traders[who], request)

        @rule(
            who=st.integers(0, 1),
            side=st.sampled_from(["buy", "sell"]),
            lots=quantities,
            move=st.sampled_from([-40, -25, 25, 60]),
            wait=st.booleans(),
        )
        def leveraged_bet(self, who: int, side: str, lots: int, move: int, wait: bool) -> None:
            """A trader takes a cash-forward position, takes out all its free cash and the index jumps
            against it: the pass calls it (and may see a default); the other trader then quotes
            inside the liquidation band so that a later pass past the deadline can liquidate."""
            trader, other = self.traders[who], self.traders[1 - who]
            symbol = SYMBOLS[3]
            price = max(self.last_fix // 1000, 1)
            opposite = "sell" if side == "buy" else "buy"
            self._attempt(self.ex.place_order, other, OrderRequest(symbol, opposite, lots, price_ticks=price))
            self._attempt(self.ex.place_order, trader, OrderRequest(symbol, side, lots, price_ticks=price))
            self.withdraw(who, 100)
            self.index_moves(move if side == "buy" else -move if move > 0 else -move // 2)
            self.remargin()
            quote = max(self.last_fix // 1000, 1)
            self._attempt(self.ex.place_order, other, OrderRequest(symbol, side, lots, price_ticks=quote))
            if wait:  # the call's deadline passes: the next pass liquidates
                self.time_passes(CALL_HOURS + 1)
                self.remargin()

        @rule(usd=st.integers(1, 500))
        def commit_capital(self, usd: int) -> None:
            self.ex.fund_capital(usd * 1_000_000)

        @precondition(lambda self: self.steps > 20)
        @rule(price=st.integers(1_300_000, 1_700_000))
        def december_passes(self, price: int) -> None:
            """Late in a run: the whole delivery month goes by, so cash settlement and Asians happen."""
            if self.clock.now < JANUARY:
                self.clock.now = JANUARY + timedelta(hours=1)  # fixings are observed: December's come after
                self.ex.add_fixings(
                    "A100", [(DECEMBER + timedelta(days=d), price) for d in range(31)], source="dec"
                )

        @invariant()
        def invariants_hold(self) -> None:
            if hasattr(self, "ex"):
                self.steps += 1
                assert self.ex.check() == []  # includes the default fund and uncovered losses
                for account in [self.provider, *self.traders]:
                    balances = self.ex.balances(account)
                    assert min(balances.available, balances.reserved, balances.margin) >= 0
                    assert balances.collateral >= 0  # check() also ties it to the listings
                with self.engine.connect() as connection:
                    outside = connection.execute(
                        sa.select(Liquidation.order_id, Trade.price_ticks)
                        .join(
                            Trade,
                            sa.or_(
                                Trade.maker_order_id == Liquidation.order_id,
                                Trade.taker_order_id == Liquidation.order_id,
                            ),
                        )
                        .where(
                            sa.or_(
                                Trade.price_ticks < Liquidation.band_low_ticks,
                                Trade.price_ticks > Liquidation.band_high_ticks,
                            )
                        )
                    ).all()
                assert outside == [], "a liquidation traded outside its band"

    return ExchangeMachine


def _sqlite_databases(template: Path, workdir: Path) -> tuple[Callable[[], str], Callable[[str], None]]:
    counter = iter(range(10**6))

    def new_database() -> str:
        path = workdir / f"m{next(counter)}.db"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"

    return new_database, lambda url: None


def _postgres_databases(template: sa.URL) -> tuple[Callable[[], str], Callable[[str], None]]:
    admin = sa.create_engine(
        make_engine(template.set(database="postgres")).url,
        isolation_level="AUTOCOMMIT",
        poolclass=sa.NullPool,
    )

    def new_database() -> str:
        name = f"flopex_sm_{uuid.uuid4().hex[:12]}"
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template.database}"')
        return template.set(database=name).render_as_string(hide_password=False)

    def drop(url: str) -> None:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{sa.make_url(url).database}" WITH (FORCE)')

    return new_database, drop


SETTINGS = {"deadline": None, "suppress_health_check": list(HealthCheck)}


def test_exchange_state_machine(sqlite_url: str, tmp_path: Path) -> None:
    template = Path(sqlite_url.removeprefix("sqlite:///"))
    run_state_machine_as_test(
        machine(*_sqlite_databases(template, tmp_path)),
        settings=settings(max_examples=25, stateful_step_count=40, **SETTINGS),
    )


@pytest.mark.postgres
def test_exchange_state_machine_on_postgres(request: pytest.FixtureRequest) -> None:
    template = request.getfixturevalue("_postgres_template")  # the migrated template of tests/conftest.py
    run_state_machine_as_test(
        machine(*_postgres_databases(template)),
        settings=settings(max_examples=8, stateful_step_count=30, **SETTINGS),
    )


@pytest.mark.slow
def test_exchange_state_machine_long(sqlite_url: str, tmp_path: Path) -> None:
    template = Path(sqlite_url.removeprefix("sqlite:///"))
    run_state_machine_as_test(
        machine(*_sqlite_databases(template, tmp_path)),
        settings=settings(max_examples=200, stateful_step_count=60, **SETTINGS),
    )
