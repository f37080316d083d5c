"""Joint scenarios of usage and hourly GPU prices, and what each instrument pays in each of them.

Prices come from the market model of each product through the pricing core's exact path simulation
(``Model.evolve`` / ``spots`` on the hourly grid, ``conditional_forward`` at a European option's
expiry), so the planner sees the same law the exchange marks with. Products are simulated
independently (the market model has no cross-product correlation) and usage independently of price.

For a scenario s the buyer's unhedged compute bill is ``cost[s] = sum over products and hours of
GPUs used x price``. One GPU of instrument j changes it by ``-payoff[s, j]`` (USD):

- forward at price F over hours H: ``sum_H (S_h - F)``: the delivered GPUs replace GPUs bought at
  the hourly price, and GPUs not needed are sold at it (equivalently, the cash-settled forward);
- Asian call (put) struck at K: ``|H| (max(A - K, 0) - premium)`` with A the window's mean price;
- European call (put) on the window forward, expiry tau: ``|H| (1{F(tau) > K} (A - K) - premium)``
  (put: ``1{F(tau) < K} (K - A)``), the forward position at the strike that exercise gives.

Scenarios are generated in chunks of paths, so a 3-month hourly horizon over four products runs in
bounded memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from pricing.calendar import fixing_times, year_fraction
from pricing.hedging.forecast import UsageForecast
from pricing.hedging.market import HedgeInstrument, HedgeMarket

HOUR = timedelta(hours=1)
CHUNK = 1024
"""Paths simulated at once."""


@dataclass(frozen=True, eq=False)
class ScenarioSet:
    """Costs and payoffs per scenario, plus daily aggregates for the explanations and plots.

    ``days`` are the UTC days the forecast touches; ``day_usage[p]``, ``day_price[p]`` and
    ``day_cost[p]`` have shape (len(days), n): GPU-hours used, the sum of hourly prices (the payoff
    of one GPU-day at price 0) and the compute bill of product p on each day.
    """

    hours: tuple[datetime, ...]
    cost: NDArray[np.float64]
    cost_at_mean_usage: NDArray[np.float64]
    """The bill at the expected usage, E[cost | prices]: usage is independent of price, so
    Var(cost - payoff x) = Var(cost_at_mean_usage - payoff x) + a term free of x, and the variance
    plan regresses on this far less noisy bill."""
    payoff: NDArray[np.float64]
    gross: NDArray[np.float64]
    """Payoff per GPU before the ask is paid (its mean over scenarios is the fair value x hours)."""
    days: tuple[datetime, ...]
    day_usage: dict[str, NDArray[np.float64]]
    day_price: dict[str, NDArray[np.float64]]
    day_cost: dict[str, NDArray[np.float64]]

    @property
    def n(self) -> int:
        return int(self.cost.size)


def horizon(forecast: UsageForecast, instruments: tuple[HedgeInstrument, ...]) -> list[datetime]:
    """The hourly grid covering the forecast and every instrument's window."""
    first = min([forecast.start, *(i.start for i in instruments)])
    last = max([forecast.end, *(i.end for i in instruments)])
    return [first + k * HOUR for k in range(int((last - first) / HOUR))]


def overlapping(forecast: UsageForecast, market: HedgeMarket) -> tuple[HedgeInstrument, ...]:
    """The instruments of forecast products whose window meets the forecast's horizon."""
    products = set(forecast.products)
    return tuple(
        i
        for i in market.instruments
        if i.product in products and i.start < forecast.end and i.end > forecast.start
    )


def simulate(
    forecast: UsageForecast,
    market: HedgeMarket,
    instruments: tuple[HedgeInstrument, ...],
    n: int,
    seed: int,
) -> ScenarioSet:
    """``n`` joint scenarios (usage and prices) with the cost and per-GPU payoffs of ``instruments``."""
    hours = horizon(forecast, instruments)
    index = {moment: k for k, moment in enumerate(hours)}
    first, last = forecast.start, forecast.end
    days = sorted({h.replace(hour=0) for h in hours if first <= h < last})
    day_index = {day: d for d, day in enumerate(days)}
    day_of = np.array([day_index.get(h.replace(hour=0), -1) for h in hours])
    streams = np.random.SeedSequence(seed).spawn(1 + len(forecast.products))
    usage = forecast.hourly(hours, n, np.random.default_rng(streams[0]))
    mean_usage = forecast.mean_hourly(hours)
    cost = np.zeros(n)
    anchored = np.zeros(n)
    gross = np.zeros((n, len(instruments)))
    day_usage, day_price, day_cost = {}, {}, {}
    inside = day_of >= 0
    day_starts = np.flatnonzero(np.diff(day_of[inside], prepend=-1))  # the forecast's hours are contiguous
    for product, stream in zip(forecast.products, streams[1:], strict=True):
        rng = np.random.default_rng(stream)
        model = market.model(product)
        own = [j for j, item in enumerate(instruments) if item.product == product]
        expiries = sorted({instruments[j].expiry for j in own if instruments[j].expiry is not None})
        grid_moments = sorted(set(hours) | set(expiries))
        times = np.array([year_fraction(market.valuation, m) for m in grid_moments])
        row_of = {moment: k for k, moment in enumerate(grid_moments)}
        hour_rows = np.array([row_of[h] for h in hours])
        dprice = np.zeros((len(days), n))
        dcost = np.zeros((len(days), n))
        for lo in range(0, n, CHUNK):
            hi = min(n, lo + CHUNK)
            normals = rng.standard_normal((model.n_factors, times.size, hi - lo))
            state = model.evolve(times, normals, rng)
            prices = model.spots(times, state)[hour_rows]  # (hours, paths)
            used = usage[product][:, lo:hi]
            bill = used * prices
            cost[lo:hi] += bill.sum(axis=0)
            anchored[lo:hi] += mean_usage[product] @ prices
            dprice[:, lo:hi] = np.add.reduceat(prices[inside], day_starts, axis=0)
            dcost[:, lo:hi] = np.add.reduceat(bill[inside], day_starts, axis=0)
            sums = np.vstack([np.zeros((1, hi - lo)), np.cumsum(prices, axis=0)])
            for j in own:
                item = instruments[j]
                a, b = index[item.start], index[item.start] + item.hours
                total = sums[b] - sums[a]
                gross[lo:hi, j] = _gross(
                    item, total, model, state, grid_moments, market.valuation, hours[a:b]
                )
        day_price[product], day_cost[product] = dprice, dcost
        day_usage[product] = np.add.reduceat(usage[product][inside], day_starts, axis=0)
    asks = np.array([item.ask * item.hours for item in instruments])
    payoff = gross - asks[None, :]
    return ScenarioSet(
        tuple(hours), cost, anchored, payoff, gross, tuple(days), day_usage, day_price, day_cost
    )


def _gross(
    item: HedgeInstrument,
    total: NDArray[np.float64],
    model,
    state: NDArray[np.float64],
    grid_moments: list[datetime],
    valuation: datetime,
    window: list[datetime],
) -> NDArray[np.float64]:
    """What one GPU of ``item`` pays in each path before its ask (USD)."""
    if item.kind == "forward":
        return total
    hours = item.hours
    average = total / hours
    strike = float(item.strike)  # type: ignore[arg-type]
    sign = 1.0 if item.option_kind == "call" else -1.0
    if item.kind == "asian":
        return hours * np.maximum(sign * (average - strike), 0.0)
    assert item.expiry is not None
    tau = year_fraction(valuation, item.expiry)
    maturities = np.array([year_fraction(valuation, h) for h in window])
    column = grid_moments.index(item.expiry)
    forward = model.conditional_forward(tau, state[:, column, :], maturities).mean(axis=0)
    exercised = sign * (forward - strike) > 0.0
    return hours * np.where(exercised, sign * (average - strike), 0.0)


def fair_values(
    market: HedgeMarket, instruments: tuple[HedgeInstrument, ...], scenarios: ScenarioSet
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Fair value per GPU-hour of each instrument and its standard error.

    The caller's ``fair`` when given; a forward's mean model forward over its hours (exact);
    otherwise the scenario mean of the option's payoff (Monte Carlo from the same model).
    """
    fair = np.empty(len(instruments))
    error = np.zeros(len(instruments))
    for j, item in enumerate(instruments):
        if item.fair is not None:
            fair[j] = item.fair
        elif item.kind == "forward":
            times = np.array(fixing_times(market.valuation, item.start, item.end, "hourly"))
            fair[j] = float(np.mean(market.model(item.product).forward(times)))
        else:
            column = scenarios.gross[:, j] / item.hours
            fair[j] = float(column.mean())
            error[j] = float(column.std(ddof=1) / np.sqrt(column.size))
    return fair, error
