"""The pool's cash flows on Monte Carlo paths: capacity, forward sales, the index, utilisation,
operating costs, provider defaults and hardware generations, all vectorised over paths.

Per provider i and period t the deal fixes two numbers (:class:`PoolLayout`):

    fixed[i, t]    = forward revenue (GPUs sold forward x their price x hours) - opex x installed GPU-hours
    floating[i, t] = unsold GPU-hours x the asset's price ratio to the index

and a path adds the random part: the pool collects

    cash[t] = sum_i w[i, t] (fixed[i, t] + floating[i, t] S[t] u[t]),

S[t] the period's index (the average of the model's exact path over ``fixings_per_period`` fixings,
times the generation level), u[t] the utilisation, and w[i, t] = 1 while provider i delivers and its
``recovery`` once it has defaulted (in or before period t). Each random driver has its own stream
spawned from the seed, and defaults are drawn as uniforms mapped through the intensity, so a
stressed revaluation (:class:`Stress`) reuses the same random numbers (common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit, log_ndtr, logit

from pricing.models import SchwartzSmith
from pricing.models.gaussian import decay_integral, linear_recursion
from pricing.securitization.deal import Deal

PROVIDER_CHUNK = 256
"""Providers whose default draws are held in memory at once (bounds memory for large pools)."""
PATH_CHUNK = 4096
"""Index paths simulated at once: memory stays about PATH_CHUNK x fixings x 24 bytes."""


@dataclass(frozen=True)
class Stress:
    """A move of the deal's risk drivers (identity by default), for sensitivities and scenarios."""

    level: float = 1.0
    """Multiplies the index on every path and period."""
    vol: float = 1.0
    """Multiplies the index model's main volatility (``vol``; ``sigma_chi`` for schwartz_smith)."""
    utilisation: float = 0.0
    """Added to the mean utilisation (the result is held within [0, 1])."""
    intensity: float = 0.0
    """Added to every provider's default intensity per year (floored at 0)."""
    shock_period: int | None = None
    """A generation shock certain to hit from this period, on top of the random ones."""
    shock_size: float = 0.0
    default_provider: int | None = None
    """A provider (by position) that defaults in the first period."""


NO_STRESS = Stress()
"""The deal as described."""


@dataclass(frozen=True)
class PoolLayout:
    """What the deal fixes, per provider and period (see the module docstring)."""

    fixed: NDArray[np.float64]
    floating: NDArray[np.float64]
    gpus: NDArray[np.float64]
    intensity: NDArray[np.float64]
    recovery: NDArray[np.float64]


@dataclass(frozen=True)
class PoolPaths:
    """Simulated pool, arrays of shape (periods, paths)."""

    cash: NDArray[np.float64]
    """Net collections of each period (may be negative when costs exceed revenue)."""
    collateral: NDArray[np.float64]
    """Run-rate collateral value: max(cash, 0) times the periods left, this one included."""
    index: NDArray[np.float64]
    """The period's index price, generation level included."""
    utilisation: NDArray[np.float64]
    defaulted: NDArray[np.float64]
    """Share of installed GPUs whose provider has defaulted."""


def layout(deal: Deal) -> PoolLayout:
    """The per-provider, per-period arrays of a deal."""
    spec = deal.spec
    n, hours = spec.periods, deal.hours
    position = {p.name: i for i, p in enumerate(spec.providers)}
    fixed = np.zeros((len(spec.providers), n))
    floating = np.zeros_like(fixed)
    gpus = np.zeros_like(fixed)
    for asset in spec.assets:
        i = position[asset.provider]
        installed = np.broadcast_to(np.asarray(asset.gpus, dtype=float), (n,))
        sold = np.zeros(n)
        revenue = np.zeros(n)
        for sale in asset.forwards:
            sold[sale.start : sale.end] += sale.gpus
            revenue[sale.start : sale.end] += sale.gpus * sale.price * hours
        fixed[i] += revenue - asset.opex * installed * hours
        floating[i] += (installed - sold) * hours * asset.price_ratio
        gpus[i] += installed
    intensity = np.array([p.default_intensity for p in spec.providers])
    recovery = np.array([p.recovery for p in spec.providers])
    return PoolLayout(fixed, floating, gpus, intensity, recovery)


def simulate(
    deal: Deal, n_paths: int | None = None, seed: int | None = None, stress: Stress = NO_STRESS
) -> PoolPaths:
    """The pool on ``n_paths`` joint paths (default: the deal's ``mc``), under ``stress``."""
    spec = deal.spec
    n_paths = spec.mc.paths if n_paths is None else n_paths
    seed = spec.mc.seed if seed is None else seed
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)]
    pool = layout(deal)
    index = _index(deal, n_paths, streams[0], stress) * _generation_level(deal, n_paths, streams[1], stress)
    utilisation = _utilisation(deal, n_paths, streams[2], stress)
    default_period = _default_periods(deal, pool, n_paths, streams[3], stress)
    n = spec.periods
    cash = np.empty((n, n_paths))
    defaulted = np.zeros((n, n_paths))
    total_gpus = pool.gpus.sum(axis=0)
    for t in range(n):
        if default_period is None:
            cash[t] = pool.fixed[:, t].sum() + pool.floating[:, t].sum() * index[t] * utilisation[t]
            continue
        down = default_period <= t
        weight = np.where(down, pool.recovery[:, None], 1.0)
        cash[t] = pool.fixed[:, t] @ weight + (pool.floating[:, t] @ weight) * index[t] * utilisation[t]
        if total_gpus[t] > 0.0:
            defaulted[t] = pool.gpus[:, t] @ down / total_gpus[t]
    return PoolPaths(cash, run_rate_collateral(cash), index, utilisation, defaulted)


def run_rate_collateral(cash: NDArray[np.float64]) -> NDArray[np.float64]:
    """The OC tests' collateral value of (periods, paths) ``cash``: each period's cash (if positive)
    times the periods left, that one included. The exchange's pools use it on their realised path."""
    remaining = np.arange(cash.shape[0], 0, -1, dtype=float)[:, None]
    return np.maximum(cash, 0.0) * remaining


def _index(deal: Deal, n_paths: int, rng: np.random.Generator, stress: Stress) -> NDArray[np.float64]:
    spec = deal.spec
    n = spec.periods
    if deal.model is None:
        assert spec.index.path is not None
        path = np.asarray(spec.index.path, dtype=float) * stress.level
        return np.repeat(path[:, None], n_paths, axis=1)
    model = deal.model
    if stress.vol != 1.0:
        name = "sigma_chi" if isinstance(model, SchwartzSmith) else "vol"
        model = replace(model, **{name: getattr(model, name) * stress.vol})
    per = spec.mc.fixings_per_period
    offsets = (np.arange(per) + 0.5) / per
    times = ((np.arange(n)[:, None] + offsets[None, :]) * deal.dt).ravel()
    averages = np.empty((n, n_paths))
    for start in range(0, n_paths, PATH_CHUNK):
        count = min(PATH_CHUNK, n_paths - start)
        spots = model.simulate(times, count, rng)  # (count, n * per)
        averages[:, start : start + count] = spots.reshape(count, n, per).mean(axis=2).T
    return averages * stress.level


def _generation_level(
    deal: Deal, n_paths: int, rng: np.random.Generator, stress: Stress
) -> NDArray[np.float64]:
    """(1 - size) to the number of shocks that arrived in earlier periods."""
    spec = deal.spec
    n, generation = spec.periods, spec.generation
    level = np.ones((n, n_paths))
    if generation.rate > 0.0 and generation.size > 0.0:
        arrivals = rng.poisson(generation.rate * deal.dt, (n, n_paths))
        earlier = np.cumsum(arrivals, axis=0) - arrivals
        level = (1.0 - generation.size) ** earlier
    if stress.shock_period is not None and stress.shock_period < n:
        level[stress.shock_period :] *= 1.0 - stress.shock_size
    return level


def _utilisation(deal: Deal, n_paths: int, rng: np.random.Generator, stress: Stress) -> NDArray[np.float64]:
    """expit(logit(mean) + X) with X an exact OU from 0 sampled at the period midpoints."""
    spec = deal.spec
    n, u = spec.periods, spec.utilisation
    mean = min(max(u.mean + stress.utilisation, 0.0), 1.0)
    if u.vol == 0.0 or mean in (0.0, 1.0):
        return np.full((n, n_paths), mean)
    steps = np.full(n, deal.dt)
    steps[0] = 0.5 * deal.dt
    decay = np.exp(-u.speed * steps)
    scale = u.vol * np.sqrt(decay_integral(2.0 * u.speed, steps))
    x = linear_recursion(0.0, decay, np.zeros(n), scale, rng.standard_normal((n, n_paths)))
    return expit(logit(mean) + x)


def _default_periods(
    deal: Deal, pool: PoolLayout, n_paths: int, rng: np.random.Generator, stress: Stress
) -> NDArray[np.int32] | None:
    """Period of each provider's default per path, shape (providers, paths); ``periods`` for none.

    With X_i = sqrt(rho) Z + sqrt(1 - rho) e_i standard normal, the default time is
    tau_i = -ln N(-X_i) / lambda_i (exponential with intensity lambda_i when rho = 0), and the
    provider defaults in the period whose end first reaches tau_i. None when nobody can default.
    """
    n = deal.spec.periods
    intensity = np.maximum(pool.intensity + stress.intensity, 0.0)
    if not intensity.any() and stress.default_provider is None:
        return None
    rho = deal.spec.defaults.correlation
    factor = np.sqrt(rho) * rng.standard_normal(n_paths)
    result = np.full((intensity.size, n_paths), n, dtype=np.int32)
    for start in range(0, intensity.size, PROVIDER_CHUNK):
        rate = intensity[start : start + PROVIDER_CHUNK, None]
        latent = factor + np.sqrt(1.0 - rho) * rng.standard_normal((rate.shape[0], n_paths))
        with np.errstate(divide="ignore"):
            periods = -log_ndtr(-latent) / (rate * deal.dt)
        result[start : start + rate.shape[0]] = np.minimum(np.ceil(periods) - 1.0, n).clip(0)
    if stress.default_provider is not None:
        result[stress.default_provider] = 0
    return result
