"""The agents of the lab: who sends orders, and why.

Every agent acts through :class:`market.lab.exchange.LabExchange` (so through the real engine and
the exchange's checks) once per step, in an order shuffled per step by the run's seed. Prices are in
ticks; each agent draws its own noise from its own generator, so a run and its control (same seed)
see the same noise. Behaviour, in short (docs/stress.md has the reasoning):

- :class:`MarketMaker` quotes three levels a side around the mid leaned towards its view of value,
  skewed by inventory. It measures volatility on the hourly index; its spread widens with variance
  over capital and its size shrinks so that an hour's 99% loss on its quotes stays within a share of
  its capital (so it thins out, then withdraws, sooner when it has less capital); it also stops for
  a while when its loss since the day began passes a share of its capital, and stops adding to an
  inventory at its limit (which scales with capital).
- :class:`LeveragedHolder` holds a leveraged long or short; on a margin call it posts its reserve
  while it lasts, then sells down (reduce-only) to meet the call; past the deadline the clearing
  house liquidates it.
- :class:`Hedger` buys steadily (compute users locking in prices), more when the price is below its
  view of value; :class:`Provider` sells steadily above value and dumps unsold capacity once prices
  have fallen.
- :class:`BasketHolder` holds fund units; a return chaser sells after the NAV fell and buys after it
  rose; in a run it sells everything.
- :class:`AuthorisedParticipant` quotes the units around the indicative NAV and keeps its unit
  inventory in a band by creating and redeeming with the fund.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from market.clearing import calls
from market.clearing.liquidation import BAND
from market.lab.exchange import FUND, LabExchange
from market.margin import Z99

HOURS_PER_YEAR = 365 * 24


@dataclass(frozen=True)
class Context:
    """What every agent knows at a step."""

    step: int
    hour_start: bool
    values: dict[str, float]
    """The fundamental of each forward, in ticks (agents see it with their own noise)."""
    opening: dict[str, int]
    """Each forward's price at the start, in ticks."""
    feedback: bool
    """Whether margining and basket flows are on (off in the control)."""
    nav_return: float
    """The NAV's return over the last day (0 before a day has passed)."""
    run: bool
    """Whether the basket run happens at this step."""


def reference(ex: LabExchange, symbol: str) -> float | None:
    """The price an agent reads: the mid, else the last trade, else the mark, in ticks."""
    bid, ask = ex.best(symbol)
    if bid is not None and ask is not None:
        return (bid + ask) / 2
    last = ex.engine.snapshot(symbol, 0)["last"]
    if last is not None:
        return float(last)
    mark = ex.marks.get(symbol)
    if mark is not None:
        return mark.forward_micros / ex.instruments[symbol].tick_micros
    return None


class Agent:
    """An account and its own random generator."""

    def __init__(self, name: str, rng: np.random.Generator) -> None:
        self.name = name
        self.rng = rng

    def view(self, value: float, noise: float = 0.01) -> float:
        """The agent's noisy view of a fundamental value."""
        return value * math.exp(noise * float(self.rng.standard_normal()))

    def act(self, ex: LabExchange, ctx: Context) -> None:  # pragma: no cover - every agent overrides
        raise NotImplementedError


class MarketMaker(Agent):
    """Quotes the forwards (see the module docstring)."""

    LEVELS = 3
    CALM_VOL = 0.6
    HALF_SPREAD = 0.003
    SPREAD_RISK = 0.002
    REFERENCE_CAPITAL = 400_000_000_000
    """The half-spread per level is ``HALF_SPREAD + SPREAD_RISK vol^2 x REFERENCE_CAPITAL / capital``:
    the compensation for inventory risk grows with variance and falls with the capital that bears it
    (a risk aversion inversely proportional to wealth, as in Avellaneda and Stoikov's quotes)."""
    RISK = 0.05
    """The one-hour 99% loss on a full set of quotes it accepts, as a share of its capital: quotes
    shrink as volatility rises, faster for a market maker with less capital, and stop below a lot."""
    MAX_SIZE = 50
    DECAY = 0.3
    """Weight of the newest hourly index return in the volatility it measures."""
    LOSS_LIMIT = 0.10
    INVENTORY = 0.25
    """Largest inventory per forward, as notional over capital."""
    PULL = 0.5
    """How far its quotes lean from the mid towards its view of value."""
    """Of its capital, lost since the day began, before it stops quoting for a while."""
    COOLDOWN_STEPS = 8

    def __init__(
        self, name: str, rng: np.random.Generator, symbols: list[str], capital: int, ex: LabExchange
    ) -> None:
        super().__init__(name, rng)
        self.symbols = symbols
        self.capital = capital
        self.limits = {}
        for s in symbols:
            notional = ex.opening[s] * ex.instruments[s].multiplier
            self.limits[s] = max(1, round(self.INVENTORY * capital / notional))
        self.notionals = {s: ex.opening[s] * ex.instruments[s].multiplier for s in symbols}
        self.var = dict.fromkeys(symbols, self.CALM_VOL**2)
        self.prev: dict[str, float | None] = dict.fromkeys(symbols)
        self.out_until = -1
        self.seen: dict[str, int] = {}
        self.steps_per_day = 96
        self.day_start: int | None = None

    def act(self, ex: LabExchange, ctx: Context) -> None:
        for s in self.symbols:
            ex.cancel_all(self.name, s)
        prices = {}
        for s in self.symbols:
            mid = reference(ex, s)
            if mid is not None:
                prices[s] = round(mid * ex.instruments[s].tick_micros)
            self.prev[s] = mid
            history = ex.fixings[ex.instruments[s].product]
            if ctx.hour_start and len(history) >= 2 and history[-1][0] != self.seen.get(s):
                self.seen[s] = history[-1][0]
                r = math.log(history[-1][1] / history[-2][1])
                self.var[s] = (1 - self.DECAY) * self.var[s] + self.DECAY * r * r * HOURS_PER_YEAR
        equity = ex.equity(self.name) + ex.accrued(self.name, prices)
        if self.day_start is None or ctx.step % self.steps_per_day == 0:
            self.day_start = equity
        if self.day_start - equity > self.LOSS_LIMIT * self.capital:
            self.out_until = ctx.step + self.COOLDOWN_STEPS
        if ctx.step < self.out_until:
            return
        for s in self.symbols:
            mid = self.prev[s]
            vol = math.sqrt(self.var[s])
            hour_loss = Z99 * vol * math.sqrt(1 / HOURS_PER_YEAR) * self.notionals[s] * self.LEVELS
            size = min(self.MAX_SIZE, math.floor(self.RISK * self.capital / hour_loss))
            if mid is None or size < 1 or ex.halted(s):
                continue
            centre = mid + self.PULL * (self.view(ctx.values[s]) - mid)
            inventory, limit = ex.qty(self.name, s), self.limits[s]
            centre *= 1 - 0.004 * inventory / limit
            half = self.HALF_SPREAD + self.SPREAD_RISK * vol * vol * self.REFERENCE_CAPITAL / self.capital
            for k in range(1, self.LEVELS + 1):
                if inventory < limit:
                    ex.submit(self.name, s, "buy", size, math.floor(centre * (1 - half * k)), post_only=True)
                if inventory > -limit:
                    ex.submit(self.name, s, "sell", size, math.ceil(centre * (1 + half * k)), post_only=True)


class LeveragedHolder(Agent):
    """A leveraged long or short under the margin rules (see the module docstring)."""

    def __init__(self, name: str, rng: np.random.Generator, symbol: str, reserve: int) -> None:
        super().__init__(name, rng)
        self.symbol = symbol
        self.reserve = reserve

    def act(self, ex: LabExchange, ctx: Context) -> None:
        call = ex.calls.get(self.name)
        if not ctx.feedback or call is None or call.status != calls.OPEN or not ctx.hour_start:
            return
        if self.reserve > 0:
            paid = min(self.reserve, call.amount)
            ex.deposit(self.name, paid)
            self.reserve -= paid
            return
        qty = ex.qty(self.name, self.symbol)
        per_lot = ex.instruments[self.symbol].margin_per_lot
        lots = min(abs(qty), max(1, math.ceil(2 * call.amount / max(per_lot, 1))))
        bid, ask = ex.best(self.symbol)
        if qty > 0 and bid is not None:
            ex.submit(
                self.name,
                self.symbol,
                "sell",
                lots,
                math.floor(bid * 0.98),
                tif="ioc",
                reduce_only=True,
                purpose="deleverage",
            )
        elif qty < 0 and ask is not None:
            ex.submit(
                self.name,
                self.symbol,
                "buy",
                lots,
                math.ceil(ask * 1.02),
                tif="ioc",
                reduce_only=True,
                purpose="deleverage",
            )


CURVE = ((0.01, 1), (0.03, 2), (0.06, 4), (0.10, 8))
"""The slow money's demand (and supply) curve: ``(distance from value, lots per base lot)``."""


class Hedger(Agent):
    """A compute user hedging forward capacity: it rests bids on a curve below its view of value
    (more the cheaper), re-posted every hour -- the market's slow-moving buying capital."""

    def __init__(self, name: str, rng: np.random.Generator, symbols: list[str], lots: int, cap: int) -> None:
        super().__init__(name, rng)
        self.symbols = symbols
        self.lots = lots
        self.cap = cap

    def act(self, ex: LabExchange, ctx: Context) -> None:
        if not ctx.hour_start:
            return
        for s in self.symbols:
            ex.cancel_all(self.name, s)
            value = self.view(ctx.values[s])
            room = self.cap - ex.qty(self.name, s)
            for distance, weight in CURVE:
                lots = min(self.lots * weight, room)
                if lots > 0 and ex.submit(self.name, s, "buy", lots, math.floor(value * (1 - distance))):
                    room -= lots


class Provider(Agent):
    """A GPU provider hedging its capacity: asks on a curve above its view of value, re-posted every
    hour; once prices have fallen it dumps its unsold capacity into the bids."""

    DUMP_AFTER = 0.10
    FLOOR = 0.3

    def __init__(
        self, name: str, rng: np.random.Generator, symbols: list[str], lots: int, unsold: int
    ) -> None:
        super().__init__(name, rng)
        self.symbols = symbols
        self.lots = lots
        self.unsold = dict.fromkeys(symbols, unsold)

    def act(self, ex: LabExchange, ctx: Context) -> None:
        for s in self.symbols:
            if ctx.hour_start:
                ex.cancel_all(self.name, s)
                value = self.view(ctx.values[s])
                for distance, weight in CURVE:
                    ex.submit(self.name, s, "sell", self.lots * weight, math.ceil(value * (1 + distance)))
            price = reference(ex, s)
            bid, _ = ex.best(s)
            fallen = price is not None and price < ctx.opening[s] * (1 - self.DUMP_AFTER)
            if fallen and self.unsold[s] > 0 and bid is not None:
                lots = max(1, self.unsold[s] // 6)
                before = ex.qty(self.name, s)
                floor = math.ceil(ctx.opening[s] * self.FLOOR)
                ex.submit(self.name, s, "sell", lots, max(bid, floor), tif="ioc", purpose="dump")
                self.unsold[s] -= before - ex.qty(self.name, s)


class BasketHolder(Agent):
    """A holder of fund units; return chasers trade on the NAV's past day."""

    SENSITIVITY = 2.0

    def __init__(self, name: str, rng: np.random.Generator, chaser: bool, runner: bool, units: int) -> None:
        super().__init__(name, rng)
        self.chaser = chaser
        self.runner = runner
        self.units = units
        self.running = False

    def act(self, ex: LabExchange, ctx: Context) -> None:
        if not ctx.feedback:
            return
        symbol = ex.spec.symbol
        bid, ask = ex.best(symbol)
        held = ex.units[self.name]
        if ctx.run and self.runner:
            self.running = True
        if self.running and held > 0 and bid is not None:
            ex.submit(self.name, symbol, "sell", held, bid, tif="ioc", purpose="run")
            return
        if not (self.chaser and ctx.hour_start):
            return
        flow = round(
            self.SENSITIVITY * ctx.nav_return * self.units * (1 + 0.2 * float(self.rng.standard_normal()))
        )
        if flow < 0 and held > 0 and bid is not None:
            ex.submit(self.name, symbol, "sell", min(-flow, held), bid, tif="ioc", purpose="outflow")
        elif flow > 0 and ask is not None:
            ex.submit(self.name, symbol, "buy", flow, ask, tif="ioc", purpose="inflow")


class AuthorisedParticipant(Agent):
    """Makes the market in fund units and creates or redeems to keep its inventory in a band."""

    def __init__(self, name: str, rng: np.random.Generator, target: int, band: int, size: int) -> None:
        super().__init__(name, rng)
        self.target = target
        self.band = band
        self.size = size

    def inav_ticks(self, ex: LabExchange) -> float | None:
        """The indicative NAV in unit ticks: the published NAV moved by the strip's prices since the marks."""
        if ex.outstanding == 0:
            return None
        moved = 0.0
        for leg in ex.spec.legs:
            price, mark = reference(ex, leg.symbol), ex.marks.get(leg.symbol)
            if price is not None and mark is not None:
                inst = ex.instruments[leg.symbol]
                moved += leg.lots * (price * inst.tick_micros - mark.forward_micros) * inst.gpu_hours
        return (ex.nav() + moved) / ex.basket_tick

    def act(self, ex: LabExchange, ctx: Context) -> None:
        symbol = ex.spec.symbol
        ex.cancel_all(self.name, symbol)
        self.unwind(ex)
        inav = self.inav_ticks(ex)
        if inav is None:
            return
        held = ex.units[self.name]
        skew = 1 - 0.002 * (held - self.target) / self.band
        for k in (1, 2):
            if held < self.target + 2 * self.band:
                ex.submit(
                    self.name,
                    symbol,
                    "buy",
                    self.size,
                    math.floor(inav * skew * (1 - 0.002 * k)),
                    post_only=True,
                )
            if held > 0:
                ex.submit(
                    self.name,
                    symbol,
                    "sell",
                    min(self.size, held),
                    math.ceil(inav * skew * (1 + 0.002 * k)),
                    post_only=True,
                )

    def settle(self, ex: LabExchange, gate_left: int) -> int:
        """After a pass: redeem the excess over the band or create the lack (in kind when only in
        kind is allowed); returns the units redeemed."""
        held = ex.units[self.name] - ex.units_reserved[self.name]
        in_kind = ex.mitigations.in_kind_only
        if held > self.target + self.band:
            units = min(held - self.target, gate_left)
            if units > 0 and ex.redeem(self.name, units, in_kind=in_kind):
                return units
        elif held < self.target - self.band and not in_kind:
            ex.create(self.name, self.target - held, in_kind=False)
        return 0

    def unwind(self, ex: LabExchange) -> None:
        """Sell the strip received in kind, patiently: join the best ask with an eighth of it."""
        for leg in ex.spec.legs:
            qty = ex.qty(self.name, leg.symbol)
            _, ask = ex.best(leg.symbol)
            if qty > 0 and ask is not None:
                ex.cancel_all(self.name, leg.symbol)
                ex.submit(self.name, leg.symbol, "sell", max(1, qty // 8), ask, tif="gtc", purpose="unwind")


def fund_trades(ex: LabExchange) -> None:
    """The fund works off what cash redemptions and creations left it to sell or buy, inside the
    liquidation band around the mark (a forced seller, but never at any price)."""
    for symbol, lots in sorted(ex.pending.items()):
        mark = ex.marks.get(symbol)
        if lots == 0 or mark is None:
            continue
        tick = ex.instruments[symbol].tick_micros
        before = ex.qty(FUND, symbol)
        if lots > 0:
            ex.submit(
                FUND,
                symbol,
                "sell",
                lots,
                math.ceil(mark.forward_micros * (1 - BAND) / tick),
                tif="ioc",
                reduce_only=True,
                purpose="fund",
            )
        else:
            ex.submit(
                FUND,
                symbol,
                "buy",
                -lots,
                math.floor(mark.forward_micros * (1 + BAND) / tick),
                tif="ioc",
                purpose="fund",
            )
        ex.pending[symbol] -= before - ex.qty(FUND, symbol)  # lots sold (negative: bought)
