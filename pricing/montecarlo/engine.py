"""Monte Carlo valuation of forwards, Europeans, Asians and caps (``price_mc``).

The model is simulated only on the payoff's dates (its transitions are exact), optionally refined so
no step exceeds 1 / steps_per_year. Paths are produced chunk by chunk from the sampler
(``pricing.montecarlo.samplers``); with antithetic variates each chunk of normals Z is also used as
-Z and the pair's mean is one sample. Samples of the discounted payoff and its controls stream into
``ControlledMean``, so memory is bounded by the chunk size, not by the number of paths.

Random streams: one ``SeedSequence(seed)`` is split into a normal stream (pseudo normals or Sobol
scramblings) and a jump stream. Neither depends on model parameters or the rate, so repricing with
bumped inputs and the same seed reuses the same random numbers (common random numbers).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import numpy as np
from numpy.typing import NDArray

from pricing.models import Model
from pricing.montecarlo.estimator import ControlledMean
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


def estimate(
    model: Model,
    grid: NDArray[np.float64],
    rows: NDArray[np.intp],
    settings: MonteCarloSettings,
    control_means: NDArray[np.float64],
    evaluate: Callable[[NDArray[np.float64]], NDArray[np.float64]],
    method: str,
) -> MCResult:
    """Stream paths of ``model`` on ``grid`` and estimate the mean of ``evaluate``.

    ``evaluate`` maps the state at the grid rows ``rows`` (n_state, len(rows), paths) to samples
    (1 + k, paths): the discounted payoff and k controls with means ``control_means``.
    """
    mirrored = settings.antithetic
    plan = plan_sampling(settings.sampler, settings.paths, grid.size * model.n_factors, mirrored)
    normal_seed, jump_seed = np.random.SeedSequence(settings.seed).spawn(2)
    jump_rng = np.random.default_rng(jump_seed)
    accumulator = ControlledMean(control_means, plan.replicates)
    simulated = 0
    for batch in normal_batches(settings, plan, model.n_factors, grid, normal_seed):
        normals = np.concatenate((batch.normals, -batch.normals), axis=2) if mirrored else batch.normals
        state = model.evolve(grid, normals, jump_rng)
        samples = evaluate(state if rows.size == grid.size else state[:, rows])
        if mirrored:
            half = batch.normals.shape[2]
            samples = 0.5 * (samples[:, :half] + samples[:, half:])
        accumulator.add(batch.first_replicate, batch.replicates, samples)
        simulated += normals.shape[2]
    value, std_error = accumulator.estimate(randomised=settings.sampler == "sobol")
    return MCResult(value=value, std_error=std_error, paths=simulated, method=method)


def price_mc(model: Model, instrument: PathInstrument, rate: float, settings: MonteCarloSettings) -> MCResult:
    """Value ``instrument`` under ``model`` by Monte Carlo, with its standard error."""
    payoff = payoff_for(model, instrument, rate, settings.control_variate)
    grid, rows = refine(payoff.times, settings.steps_per_year)

    def evaluate(state: NDArray[np.float64]) -> NDArray[np.float64]:
        paths = Paths(model, payoff.times, state)
        return np.stack([payoff.sample(paths), *(control(paths) for control in payoff.controls)])

    return estimate(model, grid, rows, settings, np.asarray(payoff.control_means), evaluate, "mc")
