"""The lab's exchange: the real matching engine and the clearing house's rules, in memory.

:class:`LabExchange` holds one :class:`market.engine.MatchingEngine` (a book per forward and one for
the basket fund's units), a :class:`market.lab.ledger.LabLedger` and the positions, and books every
engine event the way :mod:`market.trading` does: risk-adding forward orders hold the per-instrument
margin (:func:`market.margin.required`) in ``reserved``, a fill releases it and
:func:`market.margin.rebalance` re-holds the position's margin; a unit buy holds its cash, a unit sell
its units; during a margin call only orders that :func:`market.clearing.calls.reduces` accepts go
through. Its :meth:`LabExchange.remargin` is the clearing pass of :mod:`market.clearing.remargin`,
step by step, on the same pure functions: variation margin (``variation.settle_to_mark``), portfolio
margin (``portfolio.requirement`` / ``portfolio.hold``), calls (``calls.decide``), banded liquidation
slices (``liquidation.band`` / ``offered_inside`` / ``slice_lots``), Cover-1 fund sizing
(``remargin.fund_target`` / ``waterfall.contribution_moves``) and the default waterfall
(``waterfall.allocate``). Marks are the index, fixed hourly from the forwards' traded prices as the
exchange's day-ahead fixings are (a dark index fixes nothing).
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from dataclasses import dataclass, field, replace

from market import basket, margin
from market.clearing import calls, liquidation, portfolio, variation, waterfall
from market.clearing.remargin import fund_target
from market.clearing.valuation import Mark, ProductVol
from market.engine import MatchingEngine
from market.instruments import Instrument
from market.lab.ledger import LabLedger
from market.lab.scenario import Mitigations
from market.ledger import AVAILABLE, CAPITAL, DEFAULT_FUND, EXTERNAL, MARGIN, RESERVED, SETTLEMENT, SYSTEM
from market.marks import DEFAULT_VOL, MIN_FIXINGS, VOL_WINDOW
from market.records import OrderRequest
from pricing.risk.procyclicality import margin_vol, rolling_vols

_US_PER_YEAR = 365 * 86_400 * 1_000_000
FUND = "fund"
"""The basket fund's account."""


class ConservationError(AssertionError):
    """An invariant of the exchange broke: money or positions appeared or vanished."""


@dataclass
class LiveOrder:
    """A live order of the lab: who sent it, what it holds per lot, and why (for the measures)."""

    account: str
    symbol: str
    side: str
    open: int
    hold_per_lot: int
    purpose: str


@dataclass
class Call:
    """A margin call in force."""

    status: str
    deadline_us: int
    amount: int


@dataclass
class PassReport:
    """What one clearing pass did (the measures' raw material)."""

    calls_opened: int = 0
    calls_in_force: int = 0
    liquidation_orders: int = 0
    defaults: int = 0
    fund_used: int = 0
    uncovered: int = 0
    variation_paid: int = 0
    margin_required: int = 0


@dataclass
class Tally:
    """Running totals of the run, reset never."""

    commands: int = 0
    forced_lots: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    traded_lots: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    calls_opened: int = 0
    defaults: int = 0
    fund_used: int = 0
    uncovered: int = 0
    created_units: int = 0
    redeemed_units: int = 0


class LabExchange:
    """The in-memory exchange of one run (see the module docstring)."""

    def __init__(
        self,
        instruments: dict[str, Instrument],
        spec: basket.BasketSpec,
        basket_tick_micros: int,
        mitigations: Mitigations,
        references: dict[str, int],
    ) -> None:
        self.engine = MatchingEngine()
        self.instruments = instruments
        self.opening = references
        """Each forward's opening price in ticks (the price band's reference)."""
        self.spec = spec
        self.basket_tick = basket_tick_micros
        self.mitigations = mitigations
        self.ledger = LabLedger()
        self.ledger_uow = _Unit(self.ledger)
        band = mitigations.band_bps
        for symbol in instruments:
            self.engine.add_instrument(symbol, band_bps=band, reference=references[symbol] if band else None)
        self.engine.add_instrument(spec.symbol)
        self.positions: dict[tuple[str, str], dict] = {}
        self.units: dict[str, int] = defaultdict(int)
        self.units_reserved: dict[str, int] = defaultdict(int)
        self.outstanding = 0
        self.pending: dict[str, int] = defaultdict(int)
        """The fund's lots still to sell (positive) or buy (negative) after cash redemptions/creations."""
        self.orders: dict[str, LiveOrder] = {}
        self.calls: dict[str, Call] = {}
        self.contributions: dict[str, int] = {}
        self.fixings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self.marks: dict[str, Mark] = {}
        self.vols: dict[str, ProductVol] = {}
        self.tally = Tally()
        self.now_us = 0
        self._vwap: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        self._ids = 0

    # ------------------------------------------------------------------ accounts and positions

    def deposit(self, account: str, micros: int) -> None:
        """Cash from outside (a member's deposit, a met call)."""
        self.ledger.move((SYSTEM, EXTERNAL), (account, AVAILABLE), micros)
        self.ledger.post("deposit", account_id=account)

    def fund_capital(self, micros: int) -> None:
        """The exchange's own capital committed to the default waterfall."""
        self.ledger.move((SYSTEM, EXTERNAL), (SYSTEM, CAPITAL), micros)
        self.ledger.post("capital")

    def position(self, account: str, symbol: str) -> dict:
        """The account's position row in ``symbol`` (created flat)."""
        key = (account, symbol)
        found = self.positions.get(key)
        if found is None:
            found = self.positions[key] = {
                "account_id": account,
                "symbol": symbol,
                "qty": 0,
                "cost_micros": 0,
                "variation_micros": 0,
                "margin_micros": 0,
            }
        return found

    def qty(self, account: str, symbol: str) -> int:
        """The account's position in lots (units for the basket)."""
        if symbol == self.spec.symbol:
            return self.units[account]
        found = self.positions.get((account, symbol))
        return 0 if found is None else found["qty"]

    def strike(self, buyer: str, seller: str, symbol: str, lots: int, price_micros: int) -> None:
        """Book ``lots`` from ``seller`` to ``buyer`` at ``price_micros`` per GPU-hour off the book
        (the opening positions, in-kind creation and redemption): exactly a trade's bookkeeping."""
        notional = lots * price_micros * self.instruments[symbol].gpu_hours
        for account, sign in ((buyer, 1), (seller, -1)):
            row = self.position(account, symbol)
            row["qty"] += sign * lots
            row["cost_micros"] += sign * notional

    def equity(self, account: str) -> int:
        """Cash in every bucket and the default-fund contribution (positions are settled to the last
        mark at every pass; what accrued since is :meth:`accrued`)."""
        led = self.ledger
        return (
            led.balance(account, AVAILABLE)
            + led.balance(account, RESERVED)
            + led.balance(account, MARGIN)
            + self.contributions.get(account, 0)
        )

    def accrued(self, account: str, prices: dict[str, int]) -> int:
        """Profit of the account's forward positions since the last pass at ``prices`` (micros/GPU-h)."""
        total = 0
        for symbol, inst in self.instruments.items():
            row = self.positions.get((account, symbol))
            if row is not None and symbol in prices:
                hours = inst.gpu_hours
                total += row["qty"] * prices[symbol] * hours - row["cost_micros"] - row["variation_micros"]
        return total

    # ------------------------------------------------------------------ orders

    def next_id(self, account: str) -> str:
        self._ids += 1
        return f"{account}:{self._ids}"

    def halted(self, symbol: str) -> bool:
        inst = self.instruments.get(symbol)
        return inst is not None and inst.status == "halted"

    def submit(
        self,
        account: str,
        symbol: str,
        side: str,
        qty: int,
        price: int,
        *,
        tif: str = "gtc",
        post_only: bool = False,
        reduce_only: bool = False,
        purpose: str = "trade",
    ) -> str | None:
        """Send a limit order; returns its id, or None when the exchange's checks refuse it (halted
        book, margin call, not enough cash, units or margin)."""
        if qty <= 0 or price <= 0 or self.halted(symbol):
            return None
        hold = 0
        if symbol == self.spec.symbol:
            if side == "buy":
                hold = price * self.basket_tick
                if self.ledger.balance(account, AVAILABLE) < hold * qty:
                    return None
            elif self.units[account] - self.units_reserved[account] < qty:
                return None
        else:
            position = self.qty(account, symbol)
            request = OrderRequest(symbol, side, qty, "limit", price, tif, reduce_only=reduce_only)
            reducing = calls.reduces(request, position)
            if reduce_only and not reducing:
                return None
            if not reducing:
                if account in self.calls:
                    return None
                hold = self.instruments[symbol].margin_per_lot
                if self.ledger.balance(account, AVAILABLE) < hold * qty:
                    return None
        oid = self.next_id(account)
        if hold:
            self.ledger.move((account, AVAILABLE), (account, RESERVED), hold * qty)
        elif symbol == self.spec.symbol:
            self.units_reserved[account] += qty
        self.orders[oid] = LiveOrder(account, symbol, side, qty, hold, purpose)
        command = {
            "op": "new",
            "symbol": symbol,
            "id": oid,
            "account": account,
            "side": side,
            "type": "limit",
            "price": price,
            "qty": qty,
            "tif": tif,
        }
        if post_only:
            command["post_only"] = True
        self._apply(command)
        return oid

    def cancel(self, oid: str) -> None:
        """Cancel a live order (nothing if it is gone)."""
        order = self.orders.get(oid)
        if order is not None:
            self._apply({"op": "cancel", "symbol": order.symbol, "id": oid, "account": order.account})

    def cancel_all(self, account: str, symbol: str | None = None) -> None:
        """Cancel the account's live orders (in ``symbol`` only, when given)."""
        for oid in [o for o, order in self.orders.items() if order.account == account]:
            if symbol is None or self.orders[oid].symbol == symbol:
                self.cancel(oid)

    def _apply(self, command: dict) -> None:
        self.tally.commands += 1
        for event in self.engine.apply(command):
            kind = event["type"]
            if kind == "trade":
                self._trade(event)
            elif kind in ("cancelled", "expired"):
                self._release(event["id"], event["qty"])
                self.orders.pop(event["id"], None)
            elif kind == "rejected":
                oid = event["id"]
                if oid in self.orders:
                    self._release(oid, self.orders[oid].open)
                    del self.orders[oid]
            elif kind == "filled":
                self.orders.pop(event["id"], None)

    def _release(self, oid: str, lots: int) -> None:
        order = self.orders.get(oid)
        if order is None or lots <= 0:
            return
        if order.hold_per_lot:
            amount = order.hold_per_lot * lots
            self.ledger.move((order.account, RESERVED), (order.account, AVAILABLE), amount)
            self.ledger.post("release", account_id=order.account, ref=oid)
        elif order.symbol == self.spec.symbol and order.side == "sell":
            self.units_reserved[order.account] -= lots
        order.open -= lots

    def _trade(self, event: dict) -> None:
        symbol, price, qty = event["symbol"], event["price"], event["qty"]
        maker, taker = self.orders[event["maker"]], self.orders[event["taker"]]
        buyer, seller = (taker, maker) if event["taker_side"] == "buy" else (maker, taker)
        self._release(event["maker"], qty)
        self._release(event["taker"], qty)
        self.tally.traded_lots[symbol] += qty
        for order in (buyer, seller):
            if order.purpose == "liquidation":
                self.tally.forced_lots[symbol] += qty
        if symbol == self.spec.symbol:
            cash = price * self.basket_tick * qty
            self.ledger.move((buyer.account, AVAILABLE), (seller.account, AVAILABLE), cash)
            self.ledger.post("unit_trade", ref=symbol)
            self.units[buyer.account] += qty
            self.units[seller.account] -= qty
            return
        inst = self.instruments[symbol]
        notional = price * inst.multiplier * qty
        for order, sign in ((buyer, 1), (seller, -1)):
            row = self.position(order.account, symbol)
            row["qty"] += sign * qty
            row["cost_micros"] += sign * notional
            margin.rebalance(self.ledger, inst, row)
            self.ledger.post("margin", account_id=order.account)
        vwap = self._vwap[symbol]
        vwap[0] += price * qty
        vwap[1] += qty

    # ------------------------------------------------------------------ market data

    def best(self, symbol: str) -> tuple[int | None, int | None]:
        """Best bid and best ask in ticks (None on an empty side)."""
        snap = self.engine.snapshot(symbol, 1)
        bid = snap["bids"][0]["price"] if snap["bids"] else None
        ask = snap["asks"][0]["price"] if snap["asks"] else None
        return bid, ask

    def depth(self, symbol: str, low: int, high: int) -> int:
        """Lots resting at prices inside ``[low, high]`` on both sides."""
        snap = self.engine.snapshot(symbol)
        return sum(
            level["qty"] for side in ("bids", "asks") for level in snap[side] if low <= level["price"] <= high
        )

    def fix(self, now_us: int, products_dark: set[str]) -> None:
        """The hourly index fixing of each product from its forward's volume-weighted traded price
        since the last fixing (the last fixing again when nothing traded); a dark product fixes
        nothing."""
        for symbol, inst in self.instruments.items():
            product = inst.product
            sums = self._vwap.pop(symbol, None)
            if product in products_dark:
                continue
            history = self.fixings[product]
            if sums and sums[1]:
                price = round(sums[0] * inst.tick_micros / sums[1])
            elif history:
                price = history[-1][1]
            else:
                continue
            history.append((now_us, price))

    def product_vol(self, product: str) -> ProductVol:
        """Today's volatility (the marks' estimator over the last ``VOL_WINDOW`` fixings), the
        stressed level (the highest rolling estimate) and the margin blend with the scenario's
        anti-procyclical weight and floor."""
        history = self.fixings[product]
        returns, steps = [], []
        for (t0, p0), (t1, p1) in itertools.pairwise(history):
            returns.append(math.log(p1 / p0))
            steps.append((t1 - t0) / _US_PER_YEAR)
        now = DEFAULT_VOL
        if len(history) >= MIN_FIXINGS:
            recent = returns[-VOL_WINDOW:]
            dt = steps[-VOL_WINDOW:]
            now = min(
                max(math.sqrt(sum(r * r / d for r, d in zip(recent, dt, strict=True)) / len(recent)), 0.05),
                3.0,
            )
        stress = now
        if len(returns) > MIN_FIXINGS:
            rolled = rolling_vols(returns, sum(steps) / len(steps), min(VOL_WINDOW, len(returns)))
            if len(rolled):
                stress = min(max(float(rolled.max()), 0.05), 3.0)
        blended = margin_vol(now, stress, self.mitigations.apc_weight)
        return ProductVol(now, stress, max(blended, self.mitigations.margin_floor_vol))

    # ------------------------------------------------------------------ the clearing pass

    def refresh_marks(self) -> None:
        """Marks from the last fixings, margin volatilities, and each forward's per-lot margin (what
        new orders hold, :func:`market.margin.forward_margin_micros`): the first step of a pass."""
        for symbol, inst in self.instruments.items():
            history = self.fixings[inst.product]
            if history:
                self.marks[symbol] = Mark(symbol, history[-1][1], history[-1][1])
        self.vols = {p: self.product_vol(p) for p in sorted({i.product for i in self.instruments.values()})}
        for symbol, inst in self.instruments.items():
            if symbol in self.marks:
                per_lot = margin.forward_margin_micros(
                    self.marks[symbol].forward_micros, self.vols[inst.product].now, inst.gpu_hours
                )
                self.instruments[symbol] = replace(inst, margin_per_lot=per_lot)

    def remargin(self, now_us: int) -> PassReport:
        """One clearing pass at ``now_us`` (the order of :func:`market.clearing.remargin.run`)."""
        self.now_us = now_us
        self.ledger_uow.now_us = now_us
        report = PassReport()
        led = self.ledger
        self.refresh_marks()
        by_symbol: dict[str, list[dict]] = defaultdict(list)
        by_account: dict[str, list[tuple[Instrument, dict]]] = defaultdict(list)
        for (account, symbol), row in sorted(self.positions.items()):
            by_symbol[symbol].append(row)
            by_account[account].append((self.instruments[symbol], row))
        shortfalls: dict[str, int] = defaultdict(int)
        for symbol, rows in sorted(by_symbol.items()):
            if symbol not in self.marks:
                continue
            before = sum(r["variation_micros"] for r in rows if r["variation_micros"] > 0)
            short = variation.settle_to_mark(
                self.ledger_uow, self.instruments[symbol], rows, self.marks[symbol].forward_micros
            )
            for account, amount in short.items():
                shortfalls[account] += amount
            report.variation_paid += (
                sum(r["variation_micros"] for r in rows if r["variation_micros"] > 0) - before
            )
        requirements: dict[str, list[portfolio.Requirement]] = {}
        for account, items in sorted(by_account.items()):
            requirements[account] = self._requirements(account, items)
            if self._review(account, requirements[account], items) == calls.OPEN:
                report.calls_opened += 1
        for account, call in sorted(self.calls.items()):
            if call.status == calls.OPEN and call.deadline_us <= now_us:
                call.status = calls.LIQUIDATING
            if call.status != calls.LIQUIDATING:
                continue
            items = by_account.get(account, [])
            report.liquidation_orders += self._liquidate(account, items)
            requirements[account] = self._requirements(account, items)
            self._review(account, requirements[account], items)
        report.calls_in_force = len(self.calls)
        report.margin_required = sum(r.required for rs in requirements.values() for r in rs)
        target = fund_target(by_account, requirements, self.marks, self.vols, now_us)
        target = math.ceil(target * self.mitigations.fund_multiple)
        totals = {a: sum(r.required for r in rs) for a, rs in requirements.items()}
        for account, move in waterfall.contribution_moves(
            self.contributions, target, totals, lambda a: led.balance(a, AVAILABLE)
        ).items():
            led.move((account, AVAILABLE), (SYSTEM, DEFAULT_FUND), move)
            led.post("fund_contribution", account_id=account)
            self.contributions[account] = self.contributions.get(account, 0) + move
        for account, short in sorted(shortfalls.items()):
            used, uncovered = self._cover(account, short)
            report.defaults += 1
            report.fund_used += used
            report.uncovered += uncovered
        self.tally.calls_opened += report.calls_opened
        self.tally.defaults += report.defaults
        self.tally.fund_used += report.fund_used
        self.tally.uncovered += report.uncovered
        return report

    def _requirements(
        self, account: str, items: list[tuple[Instrument, dict]]
    ) -> list[portfolio.Requirement]:
        by_product: dict[str, list[tuple[Instrument, dict]]] = defaultdict(list)
        for inst, row in items:
            by_product[inst.product].append((inst, row))
        return [
            portfolio.requirement(account, product, rows, self.marks, self.vols[product], self.now_us)
            for product, rows in sorted(by_product.items())
            if product in self.vols
        ]

    def _review(self, account: str, requirements: list[portfolio.Requirement], items: list) -> str | None:
        required = sum(r.required for r in requirements)
        held = portfolio.hold(self.ledger_uow, account, required, items)
        call = self.calls.get(account)
        outcome = calls.decide(required, held, None if call is None else call.status)
        if outcome in (calls.MET, calls.CLOSED):
            del self.calls[account]
        elif outcome == calls.OPEN:
            deadline = self.now_us + calls.CALL_HOURS * 3_600_000_000
            self.calls[account] = Call(calls.OPEN, deadline, required - held)
        elif call is not None:
            call.amount = required - held
        return outcome

    def _liquidate(self, account: str, items: list[tuple[Instrument, dict]]) -> int:
        """The liquidation engine's pass for one account (:func:`market.clearing.liquidation.liquidate`)."""
        self.cancel_all(account)
        self.ledger.move((account, MARGIN), (account, AVAILABLE), self.ledger.balance(account, MARGIN))
        self.ledger.post("liquidation", account_id=account)
        for _, row in items:
            row["margin_micros"] = 0
        sent = 0
        for inst, row in sorted(items, key=lambda ir: ir[0].symbol):
            mark = self.marks.get(inst.symbol)
            qty = row["qty"]
            if mark is None or qty == 0 or inst.status != "open":
                continue
            low, high = liquidation.band(mark.value_micros, inst.tick_micros)
            side = "sell" if qty > 0 else "buy"
            offered = liquidation.offered_inside(self.engine, inst.symbol, side, low, high, account)
            lots = liquidation.slice_lots(qty, offered, self.mitigations.slice)
            if lots == 0 or low <= 0:
                continue
            price = low if side == "sell" else high
            if self.submit(
                account, inst.symbol, side, lots, price, tif="ioc", reduce_only=True, purpose="liquidation"
            ):
                sent += 1
        return sent

    def _cover(self, account: str, shortfall: int) -> tuple[int, int]:
        """Run a shortfall through the waterfall (:func:`market.clearing.waterfall.allocate`); returns
        ``(covered by the fund, capital and assessments, uncovered)``."""
        led = self.ledger
        plan = waterfall.allocate(
            account,
            shortfall,
            self.contributions,
            led.balance(SYSTEM, CAPITAL),
            lambda m: led.balance(m, AVAILABLE),
        )
        moves = [((SYSTEM, DEFAULT_FUND), plan.own, account), ((SYSTEM, CAPITAL), plan.capital, None)]
        moves += [((SYSTEM, DEFAULT_FUND), taken, member) for member, taken in plan.fund]
        moves += [((member, AVAILABLE), due, None) for member, due in plan.assessments]
        for source, amount, member in moves:
            if amount > 0:
                led.move(source, (SYSTEM, SETTLEMENT), amount)
                led.post("default", account_id=account)
                if member is not None:
                    self.contributions[member] -= amount
        return shortfall - plan.uncovered, plan.uncovered

    # ------------------------------------------------------------------ the basket fund

    def nav(self) -> int:
        """NAV per unit (micro-dollars) at the last pass's marks."""
        return basket.nav(self.equity(FUND), self.outstanding)

    def create(self, ap: str, units: int, *, in_kind: bool) -> bool:
        """Create ``units`` for ``ap`` at NAV (right after a pass: positions sit at their marks)."""
        nav = self.nav()
        strip = self.spec.strip(units)
        if in_kind:
            if any(self.qty(ap, leg.symbol) < leg.lots for leg in strip):
                return False
            cash = basket.creation_cash(units, nav, self.spec.in_kind_fee_ppm)
        else:
            cash = basket.creation_cash(units, nav, self.spec.fee_ppm)
        if self.ledger.balance(ap, AVAILABLE) < cash:
            return False
        self.ledger.move((ap, AVAILABLE), (FUND, AVAILABLE), cash)
        self.ledger.post("creation", account_id=ap)
        for leg in strip:
            if in_kind:
                self.strike(FUND, ap, leg.symbol, leg.lots, self.marks[leg.symbol].forward_micros)
            else:
                self.pending[leg.symbol] -= leg.lots
        self.units[ap] += units
        self.outstanding += units
        self.tally.created_units += units
        return True

    def redeem(self, holder: str, units: int, *, in_kind: bool) -> bool:
        """Redeem ``units`` of ``holder`` at NAV: in kind (the strip and NAV in cash) or in cash (NAV
        less the fee; the fund then sells the strip)."""
        if (
            units <= 0
            or self.units[holder] - self.units_reserved[holder] < units
            or units >= self.outstanding
        ):
            return False
        nav = self.nav()
        fee = self.spec.in_kind_fee_ppm if in_kind else self.spec.fee_ppm
        cash = basket.redemption_cash(units, nav, fee)
        led = self.ledger
        short = cash - led.balance(FUND, AVAILABLE)
        if short > 0:
            led.move((FUND, MARGIN), (FUND, AVAILABLE), min(short, led.balance(FUND, MARGIN)))
        if led.balance(FUND, AVAILABLE) < cash:
            return False
        led.move((FUND, AVAILABLE), (holder, AVAILABLE), cash)
        led.post("redemption", account_id=holder)
        for leg in self.spec.strip(units):
            if in_kind:
                self.strike(holder, FUND, leg.symbol, leg.lots, self.marks[leg.symbol].forward_micros)
            else:
                self.pending[leg.symbol] += leg.lots
        self.units[holder] -= units
        self.outstanding -= units
        self.tally.redeemed_units += units
        return True

    # ------------------------------------------------------------------ invariants

    def check(self) -> None:
        """The exchange's invariants, raised as :class:`ConservationError`: the ledger sums to zero
        with no forbidden negative balance; positions net to zero per forward; the default fund
        equals the contributions; ``settlement`` equals minus the uncovered losses; reserved cash
        equals the live orders' holds; units held equal units outstanding; the fund holds its strip
        plus what it still has to sell or buy."""
        led = self.ledger
        problems = []
        if led.total() != 0:
            problems.append(f"ledger sums to {led.total()}")
        if led.negatives():
            problems.append(f"negative balances {led.negatives()}")
        for symbol in self.instruments:
            net = sum(row["qty"] for (_, s), row in self.positions.items() if s == symbol)
            if net:
                problems.append(f"{symbol} positions net to {net}")
        if led.balance(SYSTEM, DEFAULT_FUND) != sum(self.contributions.values()):
            problems.append("default fund differs from the contributions")
        if led.balance(SYSTEM, SETTLEMENT) != -self.tally.uncovered:
            problems.append(
                f"settlement {led.balance(SYSTEM, SETTLEMENT)} != -uncovered {self.tally.uncovered}"
            )
        holds: dict[str, int] = defaultdict(int)
        for order in self.orders.values():
            holds[order.account] += order.hold_per_lot * order.open
        accounts = {a for a, _ in self.positions} | set(holds) | set(self.units)
        for account in accounts:
            if led.balance(account, RESERVED) != holds.get(account, 0):
                problems.append(f"{account} reserved differs from its orders' holds")
        if sum(self.units.values()) != self.outstanding or any(u < 0 for u in self.units.values()):
            problems.append("units held differ from units outstanding")
        for leg in self.spec.legs:
            expected = self.outstanding * leg.lots + self.pending[leg.symbol]
            if self.qty(FUND, leg.symbol) != expected:
                problems.append(f"fund holds {self.qty(FUND, leg.symbol)} {leg.symbol}, owes {expected}")
        if problems:
            raise ConservationError("; ".join(problems))


class _Unit:
    """What the clearing rules read of a unit of work: its ledger and its instant."""

    def __init__(self, ledger: LabLedger) -> None:
        self.ledger = ledger
        self.now_us = 0
