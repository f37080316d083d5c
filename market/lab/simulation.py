"""Running a scenario: build the market, step the agents, clear hourly, record the series.

:func:`run` plays one scenario for one seed, with the feedback loops on (margining and basket flows)
or off (the control: no clearing pass, no return-chasing or run flows, no creations or redemptions),
checking the exchange's invariants after every step. :func:`run_pair` plays both and returns the
metrics of :mod:`market.lab.measures`. Everything is deterministic in the seed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np

from market import basket, margin
from market.instruments import Instrument
from market.lab import agents as ag
from market.lab.exchange import FUND, LabExchange
from market.lab.scenario import Scenario
from market.lab.shocks import World, world
from market.ledger import AVAILABLE, DEFAULT_FUND, SYSTEM
from market.units import to_epoch_us

START = datetime(2026, 12, 14, tzinfo=UTC)
"""The lab's clock starts here (any instant would do: nothing depends on the date)."""
WINDOW = (datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC))
"""The delivery window of the front-month forwards the lab trades."""
TICK_MICROS = 1_000
BASKET_TICK_MICROS = 10_000
BASKET = "GPU-BASKET"
DEPTH_BAND = 0.02
"""Depth is counted within 2% of the mid."""
CAPITAL_USD = 100_000
HEDGER_CASH_USD = 2_000_000
AP_CASH_USD = 1_000_000
USD = 1_000_000
HOUR_US = 3_600_000_000


@dataclass(frozen=True)
class Run:
    """One run's time series (one entry per step) and totals."""

    series: dict[str, np.ndarray]
    totals: dict[str, float]
    symbols: tuple[str, ...]
    shock_step: int
    direction: int
    commands: int
    seconds: float


def _instruments(scenario: Scenario) -> tuple[dict[str, Instrument], dict[str, int]]:
    """The scenario's cash-settled month forwards, and each one's opening price in ticks."""
    start, end = (to_epoch_us(t) for t in WINDOW)
    out, opening = {}, {}
    for product in scenario.products:
        symbol = f"{product.name}-2027-01"
        out[symbol] = Instrument(
            symbol=symbol,
            product=product.name,
            kind="forward",
            settlement="cash",
            window_kind="month",
            window_start_us=start,
            window_end_us=end,
            tick_micros=TICK_MICROS,
            lot_gpus=1,
            expiry_us=start,
        )
        opening[symbol] = round(product.price * 1e6 / TICK_MICROS)
    return out, opening


def _setup(scenario: Scenario, seed: int, w: World) -> tuple[LabExchange, list[ag.Agent]]:
    """The market at the start: books, the calm index history, accounts and the opening positions
    (leveraged longs bought from providers, leveraged shorts sold to hedgers, the fund's strip
    bought from providers, all struck at the opening price and margined as a trade would be)."""
    instruments, opening = _instruments(scenario)
    symbols = list(instruments)
    spec = basket.BasketSpec(
        BASKET, tuple(basket.Leg(s, p.basket_lots) for s, p in zip(symbols, scenario.products, strict=True))
    )
    ex = LabExchange(instruments, spec, BASKET_TICK_MICROS, scenario.mitigations, opening)
    start_us = to_epoch_us(START)
    for inst in instruments.values():
        past = w.history[inst.product]
        for i, price in enumerate(past):
            ex.fixings[inst.product].append((start_us - (len(past) - i) * HOUR_US, round(price * 1e6)))
    ex.refresh_marks()
    ex.fund_capital(CAPITAL_USD * USD)
    pop = scenario.population
    rngs = (np.random.default_rng([seed, i]) for i in range(1_000_000))
    agents: list[ag.Agent] = []
    for i in range(pop.market_makers):
        mm = ag.MarketMaker(f"mm{i}", next(rngs), symbols, pop.mm_capital_usd * USD, ex)
        mm.steps_per_day = 24 * scenario.steps_per_hour
        ex.deposit(mm.name, mm.capital)
        agents.append(mm)
    hedgers = [ag.Hedger(f"hedger{i}", next(rngs), symbols, 2, 400) for i in range(pop.hedgers)]
    providers = [
        ag.Provider(f"provider{i}", next(rngs), symbols, 2, pop.provider_unsold_lots)
        for i in range(pop.providers)
    ]
    for agent in hedgers + providers:
        ex.deposit(agent.name, HEDGER_CASH_USD * USD)
    agents += hedgers + providers
    sides = [("long", 1, i) for i in range(pop.leveraged_longs)] + [
        ("short", -1, i) for i in range(pop.leveraged_shorts)
    ]
    for k, (kind, sign, i) in enumerate(sides):
        name, symbol = f"{kind}{i}", symbols[k % len(symbols)]
        equity = pop.trader_equity_usd * USD
        ex.deposit(name, equity)
        lots = int(pop.leverage * equity // (opening[symbol] * instruments[symbol].multiplier))
        if lots:
            other = providers[i % len(providers)] if sign > 0 else hedgers[i % len(hedgers)]
            buyer, seller = (name, other.name) if sign > 0 else (other.name, name)
            ex.strike(buyer, seller, symbol, lots, opening[symbol] * TICK_MICROS)
        agents.append(ag.LeveragedHolder(name, next(rngs), symbol, round(equity * pop.reserve_share)))
    if pop.basket_units:
        units = pop.basket_units
        nav0 = spec.strip_value(
            {s: opening[s] * TICK_MICROS for s in symbols},
            {s: i.gpu_hours for s, i in instruments.items()},
        )
        ex.deposit(FUND, units * nav0)
        for k, leg in enumerate(spec.strip(units)):
            ex.strike(
                FUND,
                providers[k % len(providers)].name,
                leg.symbol,
                leg.lots,
                opening[leg.symbol] * TICK_MICROS,
            )
        ex.outstanding = units
        per_holder = units * 9 // 10 // max(pop.basket_holders, 1)
        chasers = round(pop.chaser_share * pop.basket_holders)
        runners = round(scenario.shock.run_share * pop.basket_holders)
        for i in range(pop.basket_holders):
            holder = ag.BasketHolder(
                f"holder{i}", next(rngs), i < chasers, i >= pop.basket_holders - runners, per_holder
            )
            ex.units[holder.name] = per_holder
            ex.deposit(holder.name, per_holder * nav0)
            agents.append(holder)
        ap_units = units - per_holder * pop.basket_holders
        ap = ag.AuthorisedParticipant(
            "ap0", next(rngs), ap_units, max(ap_units // 2, 5), max(ap_units // 6, 2)
        )
        ex.units[ap.name] = ap_units
        ex.deposit(ap.name, 40 * nav0 + AP_CASH_USD * USD)
        agents.append(ap)
    for (_, symbol), row in sorted(ex.positions.items()):
        margin.rebalance(ex.ledger, instruments[symbol], row)
        ex.ledger.post("margin", account_id=row["account_id"])
    return ex, agents


def run(
    scenario: Scenario, seed: int, *, feedback: bool = True, progress: Callable[[int], None] | None = None
) -> Run:
    """Play ``scenario`` for ``seed``; ``feedback=False`` is the control. ``progress`` is called
    with the number of steps done after each step."""
    began = time.perf_counter()
    w = world(scenario, seed)
    ex, agents = _setup(scenario, seed, w)
    ex.check()
    symbols = tuple(ex.instruments)
    products = {s: ex.instruments[s].product for s in symbols}
    sph = scenario.steps_per_hour
    step_us = scenario.step_minutes * 60_000_000
    start_us = to_epoch_us(START)
    order_rng = np.random.default_rng([seed, 0x0DE7])
    values_of = {s: w.fundamentals[products[s]] * 1e6 / TICK_MICROS for s in symbols}
    opening = dict(ex.opening)
    ap = next((a for a in agents if isinstance(a, ag.AuthorisedParticipant)), None)
    rec = _Recorder(symbols, scenario.steps)
    navs = [ex.nav() if ex.outstanding else 0]
    halted_until: dict[str, int] = {}
    price_hour_ago: dict[str, list[float]] = {s: [] for s in symbols}
    redeemed_today: list[int] = []
    for step in range(scenario.steps):
        now = start_us + step * step_us
        hour_start = step % sph == 0
        day_navs = navs[-24:] if len(navs) > 24 else navs
        nav_return = navs[-1] / day_navs[0] - 1 if day_navs[0] and navs[-1] else 0.0
        ctx = ag.Context(
            step,
            hour_start,
            {s: float(values_of[s][step]) for s in symbols},
            opening,
            feedback,
            nav_return,
            step == w.shock_step + 1,
        )
        _breakers(ex, scenario, step, halted_until, price_hour_ago)
        for i in order_rng.permutation(len(agents)):
            agents[i].act(ex, ctx)
        if feedback:
            ag.fund_trades(ex)
        if step % sph == sph - 1:
            dark = {products[s] for s in symbols} if step in w.dark else set()
            ex.fix(now, dark)
            if feedback:
                report = ex.remargin(now)
                rec.passes(step, report)
                if ap is not None:
                    gate = scenario.mitigations.redemption_gate
                    limit = (
                        ex.outstanding
                        if gate is None
                        else int(gate * ex.outstanding) - sum(redeemed_today[-24:])
                    )
                    redeemed_today.append(ap.settle(ex, max(limit, 0)))
            if ex.outstanding:
                navs.append(ex.nav())
        rec.record(step, ex, values_of, ap)
        ex.check()
        if progress is not None:
            progress(step + 1)
    seconds = time.perf_counter() - began
    totals = {
        "forced_lots": float(sum(ex.tally.forced_lots.values())),
        "margin_calls": float(ex.tally.calls_opened),
        "defaults": float(ex.tally.defaults),
        "fund_used_usd": ex.tally.fund_used / USD,
        "uncovered_usd": ex.tally.uncovered / USD,
        "fund_usd": ex.ledger.balance(SYSTEM, DEFAULT_FUND) / USD,
        "created_units": float(ex.tally.created_units),
        "redeemed_units": float(ex.tally.redeemed_units),
        "traded_lots": float(sum(ex.tally.traded_lots.values())),
        "fund_cash_usd": ex.ledger.balance(FUND, AVAILABLE) / USD,
    }
    return Run(rec.arrays(), totals, symbols, w.shock_step, w.direction, ex.tally.commands, seconds)


def _breakers(
    ex: LabExchange, scenario: Scenario, step: int, until: dict[str, int], history: dict[str, list[float]]
) -> None:
    """Circuit breakers: halt a forward whose price moved more than ``breaker_move`` within the last
    hour, for ``breaker_hours``; resume it after."""
    m = scenario.mitigations
    for symbol, inst in ex.instruments.items():
        if inst.status == "halted" and step >= until.get(symbol, 0):
            inst = ex.instruments[symbol] = replace(inst, status="open")
        price = ag.reference(ex, symbol)
        past = history[symbol]
        if price is not None:
            past.append(price)
            del past[: -scenario.steps_per_hour - 1]
        if m.breaker_move is None or inst.status == "halted" or price is None or len(past) < 2:
            continue
        if abs(price / past[0] - 1) > m.breaker_move:
            ex.instruments[symbol] = replace(inst, status="halted")
            until[symbol] = step + m.breaker_hours * scenario.steps_per_hour
            past.clear()


class _Recorder:
    """The per-step series of a run."""

    def __init__(self, symbols: tuple[str, ...], steps: int) -> None:
        self.symbols = symbols
        self.data: dict[str, np.ndarray] = {}
        for s in symbols:
            for what in ("price", "value", "index", "spread_bps", "depth"):
                self.data[f"{what}:{s}"] = np.full(steps, np.nan)
        for what in (
            "forced_lots",
            "calls_in_force",
            "margin_calls",
            "fund_usd",
            "fund_used_usd",
            "uncovered_usd",
            "nav",
            "unit_price",
            "premium_bps",
            "redeemed_units",
            "created_units",
            "margin_required_usd",
            "halted",
        ):
            self.data[what] = np.full(steps, np.nan)
        self._required = np.nan

    def passes(self, step: int, report: object) -> None:
        self._required = report.margin_required / USD

    def record(
        self, step: int, ex: LabExchange, values: dict[str, np.ndarray], ap: ag.AuthorisedParticipant | None
    ) -> None:
        d = self.data
        for s in self.symbols:
            price = ag.reference(ex, s)
            d[f"price:{s}"][step] = np.nan if price is None else price * TICK_MICROS / USD
            d[f"value:{s}"][step] = values[s][step] * TICK_MICROS / USD
            history = ex.fixings[ex.instruments[s].product]
            d[f"index:{s}"][step] = history[-1][1] / USD
            bid, ask = ex.best(s)
            if bid is not None and ask is not None:
                mid = (bid + ask) / 2
                d[f"spread_bps:{s}"][step] = (ask - bid) / mid * 1e4
                d[f"depth:{s}"][step] = ex.depth(
                    s, int(mid * (1 - DEPTH_BAND)), int(mid * (1 + DEPTH_BAND)) + 1
                )
            else:
                d[f"depth:{s}"][step] = 0
        d["halted"][step] = sum(ex.halted(s) for s in self.symbols) / len(self.symbols)
        t = ex.tally
        d["forced_lots"][step] = sum(t.forced_lots.values())
        d["calls_in_force"][step] = len(ex.calls)
        d["margin_calls"][step] = t.calls_opened
        d["fund_usd"][step] = ex.ledger.balance(SYSTEM, DEFAULT_FUND) / USD
        d["fund_used_usd"][step] = t.fund_used / USD
        d["uncovered_usd"][step] = t.uncovered / USD
        d["redeemed_units"][step] = t.redeemed_units
        d["created_units"][step] = t.created_units
        d["margin_required_usd"][step] = self._required
        if ex.outstanding:
            nav = ex.nav()
            d["nav"][step] = nav / USD
            unit = ag.reference(ex, ex.spec.symbol)
            if unit is not None:
                d["unit_price"][step] = unit * ex.basket_tick / USD
                d["premium_bps"][step] = basket.premium_bps(round(unit * ex.basket_tick), nav)

    def arrays(self) -> dict[str, np.ndarray]:
        return self.data
