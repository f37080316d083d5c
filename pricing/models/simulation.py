"""The contract every spot model implements, and its public ``simulate`` entry point.

A model is driven by ``n_factors`` independent standard normals per time step (and, for jump models,
by its own Poisson draws). ``evolve`` maps those normals to the model's state on the grid with exact
transitions; ``spots`` reads the spot price from the state; ``conditional_forward`` gives F(tau, T)
from the state at tau. Arrays are time-major, (steps, paths), so that each step of a recursion
touches contiguous memory. Keeping the normals an explicit input lets the Monte Carlo engine feed
pseudo-random, antithetic or Brownian-bridged Sobol normals, and reuse them across parameter bumps
(common random numbers).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray


def time_grid(times: ArrayLike) -> NDArray[np.float64]:
    """Validate a simulation grid: a 1-d array of finite, non-negative, strictly increasing times."""
    grid = np.asarray(times, dtype=float)
    if grid.ndim != 1 or grid.size == 0:
        raise ValueError("times must be a non-empty 1-d sequence")
    if not np.all(np.isfinite(grid)) or grid[0] < 0.0:
        raise ValueError("times must be finite and non-negative")
    if np.any(np.diff(grid) <= 0.0):
        raise ValueError("times must be strictly increasing")
    return grid


def steps_of(grid: NDArray[np.float64]) -> NDArray[np.float64]:
    """Step lengths of a grid starting from t = 0 (the first step is grid[0] itself)."""
    return np.diff(grid, prepend=0.0)


class PathModel(ABC):
    """Base of the model dataclasses: the exact-simulation contract plus the public ``simulate``."""

    n_factors: ClassVar[int]

    @abstractmethod
    def forward(self, t: ArrayLike) -> NDArray[np.float64]:
        """F(0, t) = E[S(t)] under the pricing measure, in closed form."""

    @abstractmethod
    def evolve(
        self, times: NDArray[np.float64], normals: NDArray[np.float64], rng: np.random.Generator
    ) -> NDArray[np.float64]:
        """State of shape (n_state, steps, paths) from normals of shape (n_factors, steps, paths).

        ``normals`` may be overwritten. ``rng`` draws whatever is not Gaussian (jumps).
        """

    @abstractmethod
    def spots(self, times: NDArray[np.float64], state: NDArray[np.float64]) -> NDArray[np.float64]:
        """Spot prices of shape (steps, paths) read from a state produced by ``evolve``."""

    @abstractmethod
    def conditional_forward(
        self, tau: float, state: NDArray[np.float64], maturities: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """F(tau, T_j) = E[S(T_j) | state at tau], shape (len(maturities), paths), for T_j >= tau.

        ``state`` is the (n_state, paths) slice of an ``evolve`` result at time tau.
        """

    def simulate(self, times: ArrayLike, n_paths: int, rng: np.random.Generator) -> NDArray[np.float64]:
        """Spot paths of shape (n_paths, len(times)), exact in law on the given grid.

        The result is a transposed (Fortran-ordered) view of the time-major simulation.
        """
        grid = time_grid(times)
        if n_paths < 1:
            raise ValueError("n_paths must be positive")
        normals = rng.standard_normal((self.n_factors, grid.size, n_paths))
        return self.spots(grid, self.evolve(grid, normals, rng)).T
