"""Tranche analytics: price, yield and spread, losses, life, duration, sensitivities, scenarios.

Every figure comes from the same joint paths (pool then waterfall). A note's cash in period t is
its interest plus principal, paid at the period's end tau_t = (t + 1) dt. With D(tau) the discount
factor of the deal's curve (zero rates, linear between points, flat outside) and spread s:

- price per 100 of face = 100 E[sum_t CF_t D(tau_t) e^(-s tau_t)] / face (standard error from the
  paths);
- yield at a price P: the flat continuously compounded y with sum_t E[CF_t] e^(-y tau_t) = P face / 100;
  spread at P: the s with sum_t E[CF_t] D(tau_t) e^(-s tau_t) = P face / 100 (the deal's quote for
  the note when given, otherwise the model price);
- expected loss: E[principal unpaid at the end] / face; probability of loss: P(unpaid > 0);
- weighted average life: sum_t tau_t E[principal_t] / sum_t E[principal_t];
- duration: sum_t tau_t E[CF_t] e^(-y tau_t) / sum_t E[CF_t] e^(-y tau_t) at the yield, which is
  -d ln P / dy for continuous compounding;
- sensitivities: change in price per 100 when one driver moves (common random numbers: the same
  seed and streams), central differences except the default intensity (one-sided, since it is
  floored at 0): index level +1%, index volatility +10% (relative), mean utilisation +1 point,
  default intensity of every provider +0.01 per year.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import msgspec
import numpy as np
from numpy.typing import NDArray
from scipy.optimize import brentq

from pricing.securitization.deal import Deal, DealError, Discount
from pricing.securitization.pool import NO_STRESS, PoolPaths, Stress, layout, simulate
from pricing.securitization.waterfall import Flows, conservation_gap, run

BUMPS = {
    "level": (Stress(level=1.01), Stress(level=0.99)),
    "vol": (Stress(vol=1.1), Stress(vol=0.9)),
    "utilisation": (Stress(utilisation=0.01), Stress(utilisation=-0.01)),
    "intensity": (Stress(intensity=0.01), None),
}
"""Up and down moves of each sensitivity (None: one-sided against the base)."""

LOSS_TOLERANCE = 1e-9
"""A note has lost when more than this share of its face stays unpaid (rounding is not a loss)."""


class TrancheMetrics(msgspec.Struct, frozen=True):
    """One note's figures (prices per 100 of face; rates per year; times in years)."""

    name: str
    face: float
    coupon: float
    price: float
    price_std_error: float
    price_basis: str
    yield_at_price: float | None
    spread_at_price: float | None
    expected_loss: float
    expected_loss_std_error: float
    loss_probability: float
    interest_shortfall: float
    wal: float | None
    duration: float | None
    breach_probability: float


class ScenarioRow(msgspec.Struct, frozen=True):
    """A note under one scenario."""

    scenario: str
    tranche: str
    price: float
    expected_loss: float
    loss_probability: float
    wal: float | None


class DealAnalysis(msgspec.Struct, frozen=True):
    """Everything ``flopex securitize price`` prints and ``POST /v1/securitization/price`` returns."""

    deal: str
    paths: int
    periods: int
    pool_cash: float
    """Expected total pool cash (USD)."""
    equity: float
    """Expected present value of the residual (USD)."""
    tranches: list[TrancheMetrics]
    sensitivities: dict[str, dict[str, float]]
    """Per note, per driver: price change per 100 for the move (see the module docstring)."""
    scenarios: list[ScenarioRow]
    max_conservation_error: float
    """Largest |cash paid out - cash in| over paths (USD): zero up to rounding."""
    elapsed_ms: float


@dataclass(frozen=True)
class Valuation:
    """A deal run once: its pool paths and waterfall flows, with the discounting it needs."""

    deal: Deal
    pool: PoolPaths
    flows: Flows

    @property
    def times(self) -> NDArray[np.float64]:
        """Payment times tau_t (years)."""
        return (np.arange(self.deal.spec.periods) + 1.0) * self.deal.dt

    def cash_of(self, j: int) -> NDArray[np.float64]:
        """Note j's cash (interest plus principal), shape (periods, paths)."""
        return self.flows.interest[j] + self.flows.principal[j]

    def discount(self) -> NDArray[np.float64]:
        """Discount factors with the spread at the payment times."""
        return discount_factors(self.deal.spec.discount, self.times)

    def prices(self) -> NDArray[np.float64]:
        """Each note's price per 100 of face."""
        df = self.discount()
        faces = np.array([t.face for t in self.deal.spec.tranches])
        pv = np.einsum("jtp,t->jp", self.flows.interest + self.flows.principal, df).mean(axis=1)
        return 100.0 * pv / faces


def value(deal: Deal, stress: Stress = NO_STRESS) -> Valuation:
    """Simulate the pool and run the waterfall, under ``stress``."""
    pool = simulate(deal, stress=stress)
    if not np.isfinite(pool.cash).all():
        raise DealError("index", "the simulated pool cash overflowed; bound the model or the amounts")
    return Valuation(deal, pool, run(deal, pool.cash, pool.collateral))


def discount_factors(discount: Discount, times: NDArray[np.float64]) -> NDArray[np.float64]:
    """exp(-(z(t) + spread) t) for the deal's curve."""
    if discount.curve:
        knots = np.array(discount.curve)
        zero = np.interp(times, knots[:, 0], knots[:, 1])
    else:
        zero = np.full_like(times, discount.rate)
    return np.exp(-(zero + discount.spread) * times)


def _solve(
    target: float, cash: NDArray[np.float64], times: NDArray[np.float64], base: NDArray[np.float64]
) -> float | None:
    """The flat rate x with sum cash base e^(-x t) = target, or None if there is none in (-1, 10)."""

    def gap(x: float) -> float:
        return float(np.sum(cash * base * np.exp(-x * times))) - target

    low, high = -1.0, 10.0
    if not cash.any() or gap(low) * gap(high) > 0.0:
        return None
    return float(brentq(gap, low, high, xtol=1e-12))


def tranche_metrics(valuation: Valuation) -> list[TrancheMetrics]:
    """The figures of every note (see the module docstring)."""
    deal = valuation.deal
    spec = deal.spec
    times, df = valuation.times, valuation.discount()
    curve = discount_factors(Discount(rate=spec.discount.rate, curve=spec.discount.curve), times)
    paths = spec.mc.paths
    results = []
    for j, note in enumerate(spec.tranches):
        cash = valuation.cash_of(j)
        pv = df @ cash
        price = 100.0 * float(pv.mean()) / note.face
        price_se = 100.0 * float(pv.std(ddof=1)) / note.face / math.sqrt(paths) if paths > 1 else 0.0
        quoted = spec.quotes.get(note.name)
        target = (quoted if quoted is not None else price) * note.face / 100.0
        expected = cash.mean(axis=1)
        yld = _solve(target, expected, times, np.ones_like(times))
        spread = _solve(target, expected, times, curve)
        loss = valuation.flows.writedown[j] / note.face
        principal = valuation.flows.principal[j].mean(axis=1)
        wal = float(times @ principal / principal.sum()) if principal.sum() > 0.0 else None
        duration = None
        if yld is not None:
            weights = expected * np.exp(-yld * times)
            duration = float(times @ weights / weights.sum())
        results.append(
            TrancheMetrics(
                name=note.name,
                face=note.face,
                coupon=note.coupon,
                price=price,
                price_std_error=price_se,
                price_basis="quote" if quoted is not None else "model",
                yield_at_price=yld,
                spread_at_price=spread,
                expected_loss=float(loss.mean()),
                expected_loss_std_error=float(loss.std(ddof=1)) / math.sqrt(paths) if paths > 1 else 0.0,
                loss_probability=float(np.mean(loss > LOSS_TOLERANCE)),
                interest_shortfall=float(valuation.flows.interest_shortfall[j].mean() / note.face),
                wal=wal,
                duration=duration,
                breach_probability=float(valuation.flows.breach[j].any(axis=0).mean()),
            )
        )
    return results


def sensitivities(deal: Deal, base: NDArray[np.float64]) -> dict[str, dict[str, float]]:
    """Price change per 100 of each note for each driver (BUMPS), from ``base`` prices."""
    moves: dict[str, NDArray[np.float64]] = {}
    for driver, (up, down) in BUMPS.items():
        if driver == "vol" and deal.model is None:
            moves[driver] = np.zeros_like(base)  # a fixed index path has no volatility
            continue
        high = value(deal, up).prices()
        moves[driver] = (high - value(deal, down).prices()) / 2.0 if down is not None else high - base
    return {
        note.name: {driver: float(move[j]) for driver, move in moves.items()}
        for j, note in enumerate(deal.spec.tranches)
    }


def scenarios(deal: Deal, base: Valuation) -> list[ScenarioRow]:
    """The scenario table: base, generation shock, utilisation slump, the largest provider defaulting."""
    s = deal.spec.scenarios
    largest = int(np.argmax(layout(deal).gpus.sum(axis=1)))
    runs = {
        "base": base,
        "generation_shock": value(
            deal, Stress(shock_period=s.generation_period, shock_size=s.generation_drop)
        ),
        "utilisation_slump": value(deal, Stress(utilisation=-s.utilisation_drop)),
        "provider_default": value(deal, Stress(default_provider=largest)),
    }
    rows = []
    for name, valuation in runs.items():
        for metrics in tranche_metrics(valuation):
            rows.append(
                ScenarioRow(
                    name,
                    metrics.name,
                    metrics.price,
                    metrics.expected_loss,
                    metrics.loss_probability,
                    metrics.wal,
                )
            )
    return rows


def analyse(deal: Deal) -> tuple[DealAnalysis, Valuation]:
    """All analytics of a deal, and the base valuation they came from (for plots)."""
    started = time.perf_counter()
    base = value(deal)
    metrics = tranche_metrics(base)
    prices = np.array([m.price for m in metrics])
    residual_pv = float((base.discount() @ base.flows.residual).mean())
    gap = conservation_gap(deal, base.pool.cash, base.flows)
    analysis = DealAnalysis(
        deal=deal.spec.name,
        paths=deal.spec.mc.paths,
        periods=deal.spec.periods,
        pool_cash=float(base.pool.cash.sum(axis=0).mean()),
        equity=residual_pv,
        tranches=metrics,
        sensitivities=sensitivities(deal, prices),
        scenarios=scenarios(deal, base),
        max_conservation_error=float(np.abs(gap).max()),
        elapsed_ms=(time.perf_counter() - started) * 1e3,
    )
    return analysis, base
