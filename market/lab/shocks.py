"""The exogenous side of a run: each product's fundamental price path, the shock, the dark index.

The fundamental of a product is a Schwartz one-factor path (:class:`pricing.models.schwartz1f.Schwartz1F`,
mean-reverting log price) simulated exactly on the run's grid, starting from a calm history. At the
shock the path takes the move of a named stress scenario of :mod:`pricing.risk.stress`: its level
(and the level it reverts to) is multiplied by ``price_factor ** beta`` and its volatility by the
scenario's ``vol_factor``; from there a second Schwartz path continues. An ``index_outage`` shock keeps
the index dark (no fixings) for ``outage_hours``. The paths depend only on the seed, so a run and its
control see the same world.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from market.lab.scenario import Scenario
from pricing.models.schwartz1f import Schwartz1F
from pricing.risk.stress import SCENARIOS

HOURS_PER_YEAR = 365 * 24
HISTORY_HOURS = 14 * 24
"""Hours of calm index history before the run (the margin volatility's look-back starts there)."""


@dataclass(frozen=True)
class World:
    """The fundamentals of a run: per product, the price at each step (USD/GPU-h) and the calm
    hourly history before it; and the steps at which the index is dark."""

    fundamentals: dict[str, np.ndarray]
    history: dict[str, np.ndarray]
    dark: frozenset[int]
    shock_step: int
    direction: int
    """-1 for a shock that lowers prices, +1 for one that raises them."""


def price_factor(scenario: Scenario) -> tuple[float, float]:
    """The shock's ``(price factor, volatility factor)``."""
    named = next(s for s in SCENARIOS if s.name == scenario.shock.stress)
    factor = scenario.shock.price_factor if scenario.shock.price_factor is not None else named.price_factor
    return factor, named.vol_factor


def world(scenario: Scenario, seed: int) -> World:
    """The fundamentals of ``scenario`` for ``seed``."""
    rng = np.random.default_rng([seed, 0x5EED])
    step_years = scenario.step_minutes / 60 / HOURS_PER_YEAR
    shock_step = scenario.shock.at_hour * scenario.steps_per_hour
    factor, vol_factor = price_factor(scenario)
    fundamentals, history = {}, {}
    for product in scenario.products:
        calm = Schwartz1F(product.price, scenario.mean_reversion, math.log(product.price), scenario.model_vol)
        past = calm.simulate(np.arange(1, HISTORY_HOURS + 1) / HOURS_PER_YEAR, 1, rng)[0]
        history[product.name] = past * product.price / past[-1]  # ends at the start price
        before = calm.simulate(np.arange(1, shock_step + 1) * step_years, 1, rng)[0]
        level = factor**product.beta
        after_model = Schwartz1F(
            before[-1] * level,
            scenario.mean_reversion,
            math.log(product.price * level),
            scenario.model_vol * (vol_factor if product.beta else 1.0),
        )
        after = after_model.simulate(np.arange(1, scenario.steps - shock_step + 1) * step_years, 1, rng)[0]
        fundamentals[product.name] = np.concatenate([[product.price], before, after])[: scenario.steps]
    outage = scenario.shock.outage_hours * scenario.steps_per_hour
    dark = frozenset(range(shock_step, shock_step + outage))
    return World(fundamentals, history, dark, shock_step, -1 if factor < 1 else 1)
