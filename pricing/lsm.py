"""Longstaff-Schwartz valuation of Bermudan options and swing contracts (``price_lsm``).

Swing with rights as state. At exercise dates t_1 < ... < t_M a holder who has used u rights may
exercise once per date, at most ``max_rights`` times in total and at least ``min_rights`` times;
each exercise pays h_m = S(t_m) - K (call) or K - S(t_m) (put), floored at 0 for ``vanilla``
payoffs. A Bermudan option is the swing with one right and a vanilla payoff. With discounted
payoffs g_m = e^(-r t_m) h_m and C_u(m) the value of continuing from date m with u rights used,
exercising is optimal when

    g_m > C_u(m) - C_(u+1)(m) =: D_u(m),

the marginal value of a right. Backward over the dates, D_u(m) is estimated by least squares of the
realised (pathwise) difference of continuation cash flows on the basis, and the realised cash flows
of every u are updated with that decision (Longstaff and Schwartz 2001; rights-indexed as in
Meinshausen and Hambly 2004). For vanilla payoffs only in-the-money paths enter the regression
(elsewhere exercising cannot pay), which for one right is exactly the original method. When the
remaining dates are just enough to reach ``min_rights``, exercise is forced.

Basis (per date, for every u): 1, x, x^2, x^3, v, v^2 with x the spot standardised over the
regression paths at that date and v = (x - k)^+ for calls, (k - x)^+ for puts, k the standardised
strike (the payoff's kink, where the marginal value of a right bends; lstsq copes with its
collinearity on in-the-money paths); two-factor models add y, y^2 and x y with y their first state
variable (chi for schwartz_smith, the diffusion X for jump_ou), standardised likewise.

Regression and valuation use independent paths: a quarter of ``settings.paths`` (pseudo-random,
capped so the regression set stays under 2^24 state values) fits the exercise rule; the rest value
it forward in time with the Monte Carlo sampler of ``pricing.montecarlo`` (pseudo or Sobol,
antithetic; ``control_variate`` has no effect here). The rule is suboptimal on fresh paths, so the
estimate is biased low by the rule's suboptimality, not by overfitting; the standard error is that
of the valuation sample given the rule.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from pricing.instruments import Bermudan, Swing
from pricing.models import Model
from pricing.montecarlo.engine import estimate, refine
from pricing.montecarlo.result import MCResult
from pricing.settings import MonteCarloSettings

REGRESSION_SHARE = 4
"""One path in REGRESSION_SHARE fits the exercise rule; the others value it."""
REGRESSION_STATE_CAP = 1 << 24
"""Most state values (paths x dates x state variables) held at once by the regression pass."""


@dataclass(frozen=True)
class _Contract:
    """The swing view of either instrument."""

    kind: str
    strike: float
    dates: NDArray[np.float64]
    min_rights: int
    max_rights: int
    vanilla: bool

    @classmethod
    def of(cls, instrument: Bermudan | Swing) -> _Contract:
        dates = np.asarray(instrument.exercise, dtype=float)
        if isinstance(instrument, Bermudan):
            return cls(instrument.kind, instrument.strike, dates, 0, 1, True)
        if not (
            0 <= instrument.min_rights <= instrument.max_rights <= dates.size and instrument.max_rights >= 1
        ):
            raise ValueError(
                "rights must satisfy 0 <= min_rights <= max_rights <= number of exercise dates "
                "and max_rights >= 1"
            )
        vanilla = instrument.payoff == "vanilla"
        return cls(
            instrument.kind, instrument.strike, dates, instrument.min_rights, instrument.max_rights, vanilla
        )

    def exercise_value(self, spot: NDArray[np.float64]) -> NDArray[np.float64]:
        value = spot - self.strike if self.kind == "call" else self.strike - spot
        return np.maximum(value, 0.0) if self.vanilla else value

    def forced(self, date: int, used: int) -> bool:
        """Whether holding ``used`` rights at date index ``date`` leaves no choice but to exercise."""
        return self.min_rights - used > self.dates.size - 1 - date


@dataclass(frozen=True)
class _Basis:
    """Regression basis at one date: standardisation of the regressors and the payoff's kink."""

    centre: NDArray[np.float64]
    scale: NDArray[np.float64]
    kink: float
    direction: float

    @classmethod
    def fit(cls, regressors: NDArray[np.float64], contract: _Contract) -> _Basis:
        centre, scale = regressors.mean(axis=1), regressors.std(axis=1)
        scale = np.where(scale > 0.0, scale, 1.0)
        direction = 1.0 if contract.kind == "call" else -1.0
        return cls(centre, scale, float((contract.strike - centre[0]) / scale[0]), direction)

    def __call__(self, regressors: NDArray[np.float64]) -> NDArray[np.float64]:
        """Basis functions of shape (paths, p) from regressors of shape (1 or 2, paths)."""
        z = (regressors - self.centre[:, None]) / self.scale[:, None]
        x = z[0]
        hinge = np.maximum(self.direction * (x - self.kink), 0.0)
        columns = [np.ones_like(x), x, x * x, x * x * x, hinge, hinge * hinge]
        if z.shape[0] > 1:
            y = z[1]
            columns += [y, y * y, x * y]
        return np.stack(columns, axis=1)


def _at_dates(state: NDArray[np.float64], rows: NDArray[np.intp]) -> NDArray[np.float64]:
    """The state at the exercise dates (rows of the simulation grid), without a copy if unrefined."""
    return state if rows.size == state.shape[1] else state[:, rows]


def _regressors(model: Model, times: NDArray[np.float64], state: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per date the regressors (spot, and the first state variable of two-factor models)."""
    spots = model.spots(times, state)
    if state.shape[0] == 1:
        return spots[None]
    return np.stack((spots, state[0]))


@dataclass(frozen=True)
class _Rule:
    """Fitted exercise rule: per date, the basis and coefficients of D_u for u < max_rights."""

    bases: list[_Basis]
    coefficients: list[NDArray[np.float64]]  # per date, shape (p, max_rights)


def _fit(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    """Least-squares coefficients (p, k) of the k columns of ``y`` on ``x``; the sample means when
    the sample is too small for the basis.

    Solved through the normal equations (the basis is standardised, so they are well conditioned)
    with a pseudo-inverse that absorbs collinear columns. Products go through einsum rather than
    BLAS, whose threads stall on a busy machine.
    """
    coefficients = np.zeros((x.shape[1], y.shape[1]))
    if y.shape[0] >= 2 * x.shape[1]:
        gram, moments = np.einsum("np,nq->pq", x, x), np.einsum("np,nk->pk", x, y)
        coefficients[:] = np.linalg.lstsq(gram, moments, rcond=1e-12)[0]
    elif y.shape[0] > 0:
        coefficients[0] = y.mean(axis=0)
    return coefficients


def _learn_rule(
    model: Model,
    contract: _Contract,
    grid: NDArray[np.float64],
    rows: NDArray[np.intp],
    discounts: NDArray[np.float64],
    n_paths: int,
    seeds: tuple[np.random.SeedSequence, np.random.SeedSequence],
) -> _Rule:
    """Backward induction on the regression paths."""
    normals = np.random.default_rng(seeds[0]).standard_normal((model.n_factors, grid.size, n_paths))
    state = _at_dates(model.evolve(grid, normals, np.random.default_rng(seeds[1])), rows)
    regressors = _regressors(model, contract.dates, state)
    gains = discounts[:, None] * contract.exercise_value(regressors[0])
    rights = contract.max_rights
    cash = np.zeros((rights + 1, n_paths))  # realised discounted cash flows from the next date on
    bases = [_Basis.fit(regressors[:, m], contract) for m in range(contract.dates.size)]
    coefficients: list[NDArray[np.float64]] = [np.zeros((0, 0))] * contract.dates.size
    for m in range(contract.dates.size - 1, -1, -1):
        gain = gains[m]
        sample = gain > 0.0 if contract.vanilla else np.ones(n_paths, dtype=bool)
        x = bases[m](regressors[:, m][:, sample])
        marginal = cash[:-1] - cash[1:]  # realised value of the (u+1)-th right, per u
        coefficients[m] = _fit(x, marginal[:, sample].T)
        exercise = np.zeros((rights, n_paths), dtype=bool)
        exercise[:, sample] = gain[sample][None, :] > np.einsum("np,pk->kn", x, coefficients[m])
        exercise |= np.array([contract.forced(m, used) for used in range(rights)])[:, None]
        cash[:-1] = np.where(exercise, gain + cash[1:], cash[:-1])
    return _Rule(bases, coefficients)


def _apply_rule(
    model: Model,
    contract: _Contract,
    rule: _Rule,
    state: NDArray[np.float64],
    discounts: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Discounted cash flows of the rule on fresh paths, forward in time."""
    regressors = _regressors(model, contract.dates, state)
    n_paths = state.shape[2]
    used = np.zeros(n_paths, dtype=np.intp)
    value = np.zeros(n_paths)
    everyone = np.arange(n_paths)
    for m in range(contract.dates.size):
        gain = discounts[m] * contract.exercise_value(regressors[0, m])
        forced = np.array([contract.forced(m, u) for u in range(contract.max_rights)] + [False])
        open_ = used < contract.max_rights
        threshold = np.einsum("np,pk->nk", rule.bases[m](regressors[:, m]), rule.coefficients[m])
        marginal = threshold[everyone, np.minimum(used, contract.max_rights - 1)]
        eligible = gain > 0.0 if contract.vanilla else np.ones(n_paths, dtype=bool)
        exercise = open_ & (forced[used] | (eligible & (gain > marginal)))
        value += np.where(exercise, gain, 0.0)
        used += exercise
    return value


def price_lsm(
    model: Model, instrument: Bermudan | Swing, rate: float, settings: MonteCarloSettings
) -> MCResult:
    """Value a Bermudan option or a swing contract by Longstaff-Schwartz, with its standard error."""
    contract = _Contract.of(instrument)
    grid, rows = refine(contract.dates, settings.steps_per_year)
    discounts = np.exp(-rate * contract.dates)
    state_width = model.n_factors + 1  # normals become the state in place; one more for regressors
    regression_paths = max(
        64, min(settings.paths // REGRESSION_SHARE, REGRESSION_STATE_CAP // (grid.size * state_width))
    )
    # Children 0 and 1 drive the valuation paths (see ``estimate``); 2 and 3 the regression paths.
    fit_normal_seed, fit_jump_seed = np.random.SeedSequence(settings.seed).spawn(4)[2:]
    rule = _learn_rule(
        model, contract, grid, rows, discounts, regression_paths, (fit_normal_seed, fit_jump_seed)
    )

    valuation = replace(settings, paths=max(2, settings.paths - regression_paths))

    def evaluate(state: NDArray[np.float64]) -> NDArray[np.float64]:
        return _apply_rule(model, contract, rule, state, discounts)[None]

    result = estimate(model, grid, rows, valuation, np.zeros(0), evaluate, "lsm")
    return replace(result, paths=result.paths + regression_paths)
