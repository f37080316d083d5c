"""Monte Carlo valuation of forwards, Europeans, Asians and caps (``price_mc``).

The model is simulated only on the payoff's dates (its transitions are exact), optionally refined so
no step exceeds 1 / steps_per_year. Paths are produced chunk by chunk from the sampler
(``pricing.montecarlo.samplers``); with antithetic variates each chunk of normals Z is also used as
-Z and the pair's mean is one sample. The controls' coefficients come from a small independent pilot;
the main sample's residuals stream into ``ReplicatedMean`` (``pricing.montecarlo.estimator``), so
memory is bounded by the chunk size, not by the number of paths.

Random streams: one ``SeedSequence(seed)`` is split into a normal stream (pseudo normals or Sobol
scramblings), a jump stream (one child per chunk), and the streams of the control-variate pilot.
None depends on model parameters or the rate, so repricing with bumped inputs and the same seed
reuses the same random numbers (common random numbers).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from pricing.models import Model
from pricing.montecarlo.estimator import ControlledMean, ReplicatedMean, trustworthy
from pricing.montecarlo.payoffs import PathInstrument, Paths, payoff_for
from pricing.montecarlo.result import MCResult
from pricing.montecarlo.samplers import Batch, SamplingPlan, plan_sampling, pseudo_batches, sobol_batches
from pricing.settings import MonteCarloSettings


def refine(
    dates: NDArray[np.float64], steps_per_year: int | None
) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """A simulation grid containing ``dates`` with no step above 1 / steps_per_year, and the
    positions of ``dates`` in it."""
    if steps_per_year is None:
        return dates, np.arange(dates.size)
    knots = np.concatenate(([0.0], dates))
    pieces = [dates[:0]]
    for start, end in itertools.pairwise(knots):
        count = max(1, int(np.ceil((end - start) * steps_per_year - 1e-9)))
        pieces.append(np.linspace(start, end, count + 1)[1:])
    grid = np.concatenate(pieces)
    return grid, np.searchsorted(grid, dates)


Evaluate = Callable[[NDArray[np.float64], NDArray[np.intp]], NDArray[np.float64]]
"""Samples (1 + k, paths) from the state at the payoff's dates and each path's replicate."""


def normal_batches(
    settings: MonteCarloSettings,
    plan: SamplingPlan,
    n_factors: int,
    grid: NDArray[np.float64],
    seed: np.random.SeedSequence,
) -> Iterator[Batch]:
    """The chunks of driving normals the settings ask for."""
    if settings.sampler == "pseudo":
        return pseudo_batches(plan, n_factors, grid.size, np.random.default_rng(seed))
    return sobol_batches(plan, n_factors, grid, seed)


def stream(
    model: Model,
    grid: NDArray[np.float64],
    rows: NDArray[np.intp],
    settings: MonteCarloSettings,
    evaluate: Evaluate,
    seeds: tuple[np.random.SeedSequence, np.random.SeedSequence],
) -> Iterator[tuple[Batch, NDArray[np.float64]]]:
    """Simulate ``model`` on ``grid`` chunk by chunk; yield each batch with ``evaluate``'s samples
    (antithetic pairs averaged). ``seeds`` drive the normals and the jumps; each chunk draws its jumps
    from its own child stream, so a change in one chunk's jump count never shifts another's."""
    mirrored = settings.antithetic
    plan = plan_sampling(settings.sampler, settings.paths, grid.size * model.n_factors, mirrored)
    normal_seed, jump_seed = seeds
    for index, batch in enumerate(normal_batches(settings, plan, model.n_factors, grid, normal_seed)):
        normals = np.concatenate((batch.normals, -batch.normals), axis=2) if mirrored else batch.normals
        jump_rng = np.random.default_rng(
            np.random.SeedSequence(jump_seed.entropy, spawn_key=(*jump_seed.spawn_key, index))
        )
        state = model.evolve(grid, normals, jump_rng)
        base = batch.normals.shape[2]
        owners = batch.first_replicate + np.arange(base) // (base // batch.replicates)
        samples = evaluate(
            state if rows.size == grid.size else state[:, rows], np.tile(owners, 2) if mirrored else owners
        )
        if mirrored:
            half = batch.normals.shape[2]
            samples = 0.5 * (samples[:, :half] + samples[:, half:])
        yield batch, samples


PILOT_SHARE = 16
"""The control-variate pilot simulates one path for every PILOT_SHARE of the main sample..."""
PILOT_MIN_PATHS = 1024
"""...and at least this many, so its coefficients are fitted on a sample of some size."""


def estimate(
    model: Model,
    grid: NDArray[np.float64],
    rows: NDArray[np.intp],
    settings: MonteCarloSettings,
    control_means: NDArray[np.float64],
    evaluate: Evaluate,
    method: str,
    offset: float = 0.0,
    widths: NDArray[np.float64] | None = None,
) -> MCResult:
    """Stream paths of ``model`` on ``grid`` and estimate ``offset`` plus the mean of ``evaluate``.

    ``evaluate`` maps the state at the grid rows ``rows`` (n_state, len(rows), paths) and each path's
    replicate to samples (1 + k, paths): the discounted payoff and k controls with means
    ``control_means``, whose
    coefficients come from an independent pseudo-random pilot (streams 4 and 5 of the seed; 0 and 1
    drive the main sample, 2 and 3 are LSM's regression paths).
    """
    seeds = np.random.SeedSequence(settings.seed).spawn(6)
    beta = np.zeros(control_means.size)
    if control_means.size:
        pilot_settings = replace(
            settings, sampler="pseudo", paths=max(PILOT_MIN_PATHS, settings.paths // PILOT_SHARE)
        )
        pilot = ControlledMean(control_means)
        for _, samples in stream(model, grid, rows, pilot_settings, evaluate, (seeds[4], seeds[5])):
            pilot.add(samples)
        beta = pilot.beta()
    plan = plan_sampling(settings.sampler, settings.paths, grid.size * model.n_factors, settings.antithetic)
    accumulator = ReplicatedMean(plan.replicates)
    simulated = 0
    for batch, samples in stream(model, grid, rows, settings, evaluate, (seeds[0], seeds[1])):
        residual = samples[0] - beta @ (samples[1:] - control_means[:, None])
        accumulator.add(batch.first_replicate, batch.replicates, residual)
        simulated += samples.shape[1] * (2 if settings.antithetic else 1)
    result = accumulator.estimate(randomised=settings.sampler == "sobol")
    widths = np.full(1 + control_means.size, np.inf) if widths is None else widths
    used = np.flatnonzero(beta) + 1
    width = float(widths[0] + np.sum(np.abs(beta[used - 1]) * widths[used]))
    result = trustworthy(result, width, simulated // (2 if settings.antithetic else 1))
    return MCResult(
        value=offset + result.value,
        std_error=result.std_error,
        paths=simulated,
        method=method,
        dof=result.dof,
        replicates=tuple(offset + r for r in result.replicates),
        informative=result.informative,
    )


def price_mc(model: Model, instrument: PathInstrument, rate: float, settings: MonteCarloSettings) -> MCResult:
    """Value ``instrument`` under ``model`` by Monte Carlo, with its standard error."""
    payoff = payoff_for(model, instrument, rate, settings.control_variate, settings.paths)
    grid, rows = refine(payoff.times, settings.steps_per_year)

    def evaluate(state: NDArray[np.float64], _: NDArray[np.intp]) -> NDArray[np.float64]:
        paths = Paths(model, payoff.times, state)
        return np.stack([payoff.sample(paths), *(control(paths) for control in payoff.controls)])

    means = np.asarray(payoff.control_means, dtype=float)
    return estimate(model, grid, rows, settings, means, evaluate, "mc", payoff.offset, payoff.widths())
