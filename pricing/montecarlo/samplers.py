"""Sources of the standard normals that drive the models, delivered in bounded chunks.

- ``pseudo``: independent normals from numpy's PCG64 generator; each path (or antithetic pair) is one
  independent sample, so the standard error comes from the sample variance.
- ``sobol``: randomised quasi-Monte Carlo. ``SOBOL_REPLICATES`` independent scramblings (Owen-type
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

SOBOL_REPLICATES = 16
"""Independent scramblings behind a Sobol estimate (15 degrees of freedom for its standard error)."""
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
    """Split ``paths`` simulated paths into replicates and chunks.

    Sobol replicates hold a power of two of points (the nearest to paths / replicates in log scale),
    so the number of simulated paths can differ from the request; the result reports the true count.
    """
    copies = 2 if mirrored else 1
    base = max(2, -(-paths // copies))  # two independent samples at least, for a standard error
    chunk_cap = max(1, CHUNK_PATH_STEPS // (copies * max(path_steps, 1)))
    if sampler == "pseudo":
        return SamplingPlan(1, base, min(base, chunk_cap))
    per_replicate = 1 << max(0, round(np.log2(max(base / SOBOL_REPLICATES, 1.0))))
    cap = 1 << int(np.log2(chunk_cap))
    if per_replicate >= cap:
        return SamplingPlan(SOBOL_REPLICATES, per_replicate, cap)
    return SamplingPlan(
        SOBOL_REPLICATES, per_replicate, per_replicate * min(SOBOL_REPLICATES, cap // per_replicate)
    )


def pseudo_batches(
    plan: SamplingPlan, n_factors: int, steps: int, rng: np.random.Generator
) -> Iterator[Batch]:
    """Independent normals, ``plan.chunk`` paths at a time."""
    remaining = plan.base_paths
    while remaining > 0:
        size = min(plan.chunk, remaining)
        yield Batch(0, 1, rng.standard_normal((n_factors, steps, size)))
        remaining -= size


def sobol_batches(
    plan: SamplingPlan, n_factors: int, times: NDArray[np.float64], seed: np.random.SeedSequence
) -> Iterator[Batch]:
    """Scrambled Sobol normals through a Brownian bridge, in replicate order."""
    steps = times.size
    dimension = steps * n_factors
    if dimension > SOBOL_MAX_DIMENSION:
        raise ValueError(
            f"sampler 'sobol' supports at most {SOBOL_MAX_DIMENSION} dimensions (time steps x factors), "
            f"this simulation needs {dimension}: use sampler 'pseudo'"
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
        points = np.concatenate(
            [engine.random(plan.per_replicate) for engine in engines[first : first + group]]
        )
        yield Batch(first, group, normals(points))
