"""Sources of the standard normals that drive the models, delivered in bounded chunks.

- ``pseudo``: independent normals from numpy's PCG64 generator; each path (or antithetic pair) is one
  independent sample, so the standard error comes from the sample variance. The paths are still
  grouped into ``REPLICATES`` consecutive batches, whose means pair up across bumped revaluations
  (the Greeks' standard errors).
- ``sobol``: randomised quasi-Monte Carlo. ``REPLICATES`` independent scramblings (Owen-type
  linear matrix scrambling plus a digital shift, scipy.stats.qmc.Sobol) of the same power-of-two
  point set; the points go through the inverse normal CDF and a Brownian bridge per factor
  (coordinates interleaved across factors: coordinate k * n_factors + f is bridge step k of factor
  f). Each scrambling gives an unbiased estimate, and the standard error is their spread:
  sd(estimates) / sqrt(replicates). Jumps (jump_ou) always come from a separate pseudo-random
  stream, so the replicates stay independent and the error estimate holds.

Chunks hold at most ``CHUNK_PATH_STEPS`` simulated path-steps, so memory stays bounded whatever the
number of paths. Streams depend only on the seed and on the grid's size, never on model parameters,
which gives common random numbers across parameter bumps.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtri
from scipy.stats import qmc

from pricing.montecarlo.bridge import BrownianBridge
from pricing.request import NotComputableError

REPLICATES = 16
"""Independent scramblings behind a Sobol estimate (15 degrees of freedom for its standard error), and
the number of batches pseudo-random paths are grouped into."""
SOBOL_MAX_DIMENSION = 21201
"""The largest dimension (steps x factors) of scipy's Sobol direction numbers."""
CHUNK_PATH_STEPS = 1 << 22
"""Simulated path-steps per chunk: 32 MB per float64 array, a few hundred MB at peak."""
_UNIT_EPSILON = 2.0**-54
"""Keeps quasi-random points off 0 and 1, where the inverse normal CDF is infinite."""


@dataclass(frozen=True)
class Batch:
    """Normals of shape (factors, steps, paths) whose paths belong, in equal consecutive blocks, to
    the replicates ``first_replicate`` to ``first_replicate + replicates - 1``."""

    first_replicate: int
    replicates: int
    normals: NDArray[np.float64]


@dataclass(frozen=True)
class SamplingPlan:
    """How many base paths (before antithetic mirroring) each replicate holds, and the chunk size
    (base paths per batch: part of one replicate, or several whole replicates)."""

    replicates: int
    per_replicate: int
    chunk: int

    @property
    def base_paths(self) -> int:
        return self.replicates * self.per_replicate


def plan_sampling(sampler: str, paths: int, path_steps: int, mirrored: bool) -> SamplingPlan:
    """Split ``paths`` simulated paths into REPLICATES replicates and chunks.

    Sobol replicates hold a power of two of points (the nearest to paths / replicates in log scale),
    pseudo-random ones paths / replicates rounded up, so the number of simulated paths can differ
    from the request; the result reports the true count.
    """
    copies = 2 if mirrored else 1
    base = max(2, -(-paths // copies))  # two independent samples at least, for a standard error
    chunk_cap = max(1, CHUNK_PATH_STEPS // (copies * max(path_steps, 1)))
    if sampler == "pseudo":
        per_replicate = -(-base // REPLICATES)
        cap = chunk_cap
    else:
        per_replicate = 1 << max(0, round(np.log2(max(base / REPLICATES, 1.0))))
        cap = 1 << int(np.log2(chunk_cap))
    if per_replicate >= cap:
        return SamplingPlan(REPLICATES, per_replicate, cap)
    return SamplingPlan(REPLICATES, per_replicate, per_replicate * min(REPLICATES, cap // per_replicate))


def pseudo_batches(
    plan: SamplingPlan, n_factors: int, steps: int, rng: np.random.Generator
) -> Iterator[Batch]:
    """Independent normals, ``plan.chunk`` paths at a time, in replicate order.

    Drawn path by path (each path's normals consecutive in the stream), so the paths do not depend
    on the chunk size.
    """

    def draw(size: int) -> NDArray[np.float64]:
        return np.ascontiguousarray(rng.standard_normal((size, n_factors, steps)).transpose(1, 2, 0))

    if plan.chunk <= plan.per_replicate:
        for replicate in range(plan.replicates):
            for start in range(0, plan.per_replicate, plan.chunk):
                yield Batch(replicate, 1, draw(min(plan.chunk, plan.per_replicate - start)))
        return
    group = plan.chunk // plan.per_replicate
    for first in range(0, plan.replicates, group):
        count = min(group, plan.replicates - first)
        yield Batch(first, count, draw(count * plan.per_replicate))


def sobol_batches(
    plan: SamplingPlan, n_factors: int, times: NDArray[np.float64], seed: np.random.SeedSequence
) -> Iterator[Batch]:
    """Scrambled Sobol normals through a Brownian bridge, in replicate order."""
    steps = times.size
    dimension = steps * n_factors
    if dimension > SOBOL_MAX_DIMENSION:
        raise NotComputableError(
            "mc.sampler",
            f'"sobol" supports at most {SOBOL_MAX_DIMENSION} dimensions (time steps x factors), '
            f'this simulation needs {dimension}: use "pseudo" or fewer steps',
        )
    bridge = BrownianBridge(times)
    engines = [
        qmc.Sobol(dimension, scramble=True, seed=np.random.default_rng(s))
        for s in seed.spawn(plan.replicates)
    ]

    def normals(points: NDArray[np.float64]) -> NDArray[np.float64]:
        np.clip(points, _UNIT_EPSILON, 1.0 - _UNIT_EPSILON, out=points)
        coordinates = ndtri(points).reshape(points.shape[0], steps, n_factors).transpose(2, 1, 0)
        result = np.empty((n_factors, steps, points.shape[0]))
        for factor in range(n_factors):
            result[factor] = bridge.increments(np.ascontiguousarray(coordinates[factor]))
        return result

    if plan.chunk <= plan.per_replicate:
        for replicate, engine in enumerate(engines):
            for _ in range(plan.per_replicate // plan.chunk):
                yield Batch(replicate, 1, normals(engine.random(plan.chunk)))
        return
    group = plan.chunk // plan.per_replicate
    for first in range(0, plan.replicates, group):
        chosen = engines[first : first + group]
        points = np.concatenate([engine.random(plan.per_replicate) for engine in chosen])
        yield Batch(first, len(chosen), normals(points))
