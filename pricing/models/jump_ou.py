"""Exponential OU with mean-reverting jumps: ln S = f(t) + X + Y.

dX = -kappa X dt + vol dW; dY = -beta Y dt + J dN, with N Poisson of intensity lambda (``jump_rate``),
J exponential with mean m (``jump_mean``), beta = ``jump_reversion`` (Kluge; QuantLib's
ExtOUWithJumpsProcess, whose exponential jump sizes have rate eta = 1/m).

Forward. X and Y are independent. E[e^X(t)] = exp(x0 e^(-kappa t) + vol^2 h(2 kappa, t) / 2).
Y(t) = y0 e^(-beta t) + sum_k J_k e^(-beta (t - s_k)) over the jump times s_k in (0, t]; by
Campbell's formula and E[e^(a J)] = eta / (eta - a) (a < eta),

    E[e^Y(t)] = exp(y0 e^(-beta t)) exp(lambda int_0^t e^(-beta u) / (eta - e^(-beta u)) du)
              = exp(y0 e^(-beta t)) ((eta - e^(-beta t)) / (eta - 1))^(lambda / beta),

finite only when eta > 1, i.e. m < 1 (log-jumps below 100% on average). The exponent is evaluated
as (lambda / beta) log1p(beta h(beta, t) / (eta - 1)), which tends to lambda t / (eta - 1) as
beta -> 0. F(0, t) = e^f(t) E[e^X(t)] E[e^Y(t)]; F(tau, T) is the same with (X, Y)(tau) as start.

Simulation is exact on any grid: X by its Gaussian transition; Y decays by e^(-beta d) over a step d
and gains the jumps that arrived in the step, each decayed from its arrival time s to the step's end
t by e^(-beta (t - s)). The jumps come from a grid-free draw of each path's arrival times and sizes
(``_arrivals``), so revaluations on shifted grids share them. The state is (X, Y).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pricing.models.gaussian import decay_integral, linear_recursion, ou_steps
from pricing.models.seasonality import Seasonality
from pricing.models.simulation import PathModel

ARRIVAL_ROUND = 16
"""Jump arrivals drawn per path at a time."""
ARRIVAL_BLOCK = 1 << 16
"""Paths whose jumps are drawn together (bounds the memory of a round)."""


@dataclass(frozen=True)
class JumpOU(PathModel):
    """Log spot = seasonal level + OU diffusion + mean-reverting upward jumps (scarcity spikes)."""

    n_factors: ClassVar[int] = 1

    x0: float
    kappa: float
    vol: float
    y0: float
    jump_rate: float
    jump_mean: float
    jump_reversion: float
    seasonality: Seasonality = field(default_factory=Seasonality)

    def _log_jump_factor(self, d: NDArray[np.float64]) -> NDArray[np.float64]:
        """ln E[e^(Y(d) - y0 e^(-beta d))]: the jumps' contribution to the log forward after time d."""
        if self.jump_rate == 0.0:
            return np.zeros_like(d)
        if not self.jump_mean < 1.0:
            raise ValueError("jump_mean must be below 1: E[exp(J)] is infinite otherwise")
        eta_less_one = 1.0 / self.jump_mean - 1.0
        beta = self.jump_reversion
        if beta == 0.0:
            return self.jump_rate * d / eta_less_one
        return self.jump_rate / beta * np.log1p(beta * decay_integral(beta, d) / eta_less_one)

    def _log_forward(
        self, x: ArrayLike, y: ArrayLike, maturities: ArrayLike, d: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        return (
            self.seasonality(maturities)
            + np.asarray(x) * np.exp(-self.kappa * d)
            + 0.5 * self.vol**2 * decay_integral(2.0 * self.kappa, d)
            + np.asarray(y) * np.exp(-self.jump_reversion * d)
            + self._log_jump_factor(d)
        )

    def forward(self, t: ArrayLike) -> NDArray[np.float64]:
        t = np.asarray(t, dtype=float)
        return np.exp(self._log_forward(self.x0, self.y0, t, t))

    def evolve(
        self, times: NDArray[np.float64], normals: NDArray[np.float64], rng: np.random.Generator
    ) -> NDArray[np.float64]:
        steps, decay, scale = ou_steps(self.kappa, self.vol, times)
        state = np.empty((2, *normals.shape[1:]))
        state[0] = linear_recursion(self.x0, decay, np.zeros_like(steps), scale, normals[0])
        self._arrivals(times, rng, out=state[1])
        ones = np.ones_like(steps)
        linear_recursion(self.y0, np.exp(-self.jump_reversion * steps), np.zeros_like(steps), ones, state[1])
        return state

    def _arrivals(
        self, times: NDArray[np.float64], rng: np.random.Generator, out: NDArray[np.float64]
    ) -> None:
        """Write into ``out`` (steps, paths) the sum of each step's jumps, decayed to the step's end.

        Each path's jumps are one realisation of the compound Poisson process on [0, infinity),
        drawn ARRIVAL_ROUND arrivals at a time (exponential gaps of mean 1 / lambda, exponential
        sizes of mean ``jump_mean``) until every path has passed the last time; the grid only
        decides which step each jump lands in. So the jumps do not depend on the grid: revaluing
        with every time moved (theta) or with other parameters meets the same jumps (common random
        numbers), and only a jump near a grid point can change steps.
        """
        n_paths = out.shape[1]
        out[:] = 0.0
        if self.jump_rate == 0.0:
            return
        horizon = times[-1]
        for first in range(0, n_paths, ARRIVAL_BLOCK):  # bounded memory: a block of paths at a time
            block = out[:, first : first + ARRIVAL_BLOCK]
            width = block.shape[1]
            clock = np.zeros(width)
            owners = np.broadcast_to(np.arange(width)[:, None], (width, ARRIVAL_ROUND))
            while True:
                gaps = rng.standard_exponential((width, ARRIVAL_ROUND))
                sizes = rng.standard_exponential((width, ARRIVAL_ROUND))
                with np.errstate(over="ignore"):  # a vanishing rate: arrivals at infinity
                    arrivals = clock[:, None] + np.cumsum(gaps, axis=1) / self.jump_rate
                clock = arrivals[:, -1]
                inside = arrivals <= horizon
                if np.any(inside):
                    when = arrivals[inside]
                    step = np.searchsorted(times, when, side="left")
                    decay = np.exp(-self.jump_reversion * (times[step] - when))
                    np.add.at(block, (step, owners[inside]), self.jump_mean * sizes[inside] * decay)
                if np.all(clock > horizon):
                    break

    def spots(self, times: NDArray[np.float64], state: NDArray[np.float64]) -> NDArray[np.float64]:
        log_spot = state[0] + state[1]
        log_spot += self.seasonality(times)[:, None]
        return np.exp(log_spot, out=log_spot)

    def conditional_forward(
        self, tau: float, state: NDArray[np.float64], maturities: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        d = (maturities - tau)[:, None]
        return np.exp(self._log_forward(state[0][None, :], state[1][None, :], maturities[:, None], d))
