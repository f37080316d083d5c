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

Greeks (``decisions``) keep the base request's exercise decisions path by path: each bumped
revaluation simulates the base and the bumped inputs from the same random numbers, exercises where
the base rule exercised on the base path, and pays the bumped path's cash flow. Re-fitting the rule
per bump (as before) added the difference of two independently fitted rules' suboptimality to every
difference quotient; even a fixed rule re-applied to bumped paths flips the decisions of the paths
near its boundary, each flip worth O(1), which makes a difference quotient's noise grow as the bump
shrinks. With the decisions held, the value is smooth in the inputs, and since the decisions are
optimal to first order its derivatives are the contract's (envelope theorem: the pathwise LSM
Greeks).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from pricing.instruments import Bermudan, Swing
from pricing.models import ArithmeticOU, JumpOU, Model
from pricing.montecarlo.engine import estimate, refine
from pricing.montecarlo.result import MCResult
from pricing.montecarlo.samplers import REPLICATES
from pricing.montecarlo.tails import require_sampled_tail, spot_moment
from pricing.request import NotComputableError
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
class ExerciseRule:
    """Fitted exercise rule: per date, the basis and coefficients of D_u for u < max_rights, and the
    number of regression paths it was fitted on."""

    bases: list[_Basis]
    coefficients: list[NDArray[np.float64]]  # per date, shape (p, max_rights)
    paths: int


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
) -> ExerciseRule:
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
    return ExerciseRule(bases, coefficients, n_paths)


def _apply_rule(
    model: Model,
    contract: _Contract,
    rule: ExerciseRule,
    state: NDArray[np.float64],
    discounts: NDArray[np.float64],
    payout: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None,
) -> NDArray[np.float64]:
    """Discounted cash flows of the rule on fresh paths, forward in time.

    The rule decides on ``state`` (of ``model``, with ``discounts``); the cash flows are paid on
    ``payout`` = (spots, discounts) when given -- the same paths under bumped inputs -- so the
    decisions stay those of the base paths.
    """
    regressors = _regressors(model, contract.dates, state)
    spots, paid_discounts = payout if payout is not None else (regressors[0], discounts)
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
        paid = gain if payout is None else paid_discounts[m] * contract.exercise_value(spots[m])
        value += np.where(exercise, paid, 0.0)
        used += exercise
    return value


@dataclass(frozen=True)
class Decisions:
    """The base request of a bumped revaluation: its inputs and one fitted rule per replicate
    (``replicate_rules``), whose exercise decisions on each path are kept while the bumped inputs
    change what each exercise pays (see the module docstring)."""

    model: Model
    instrument: Bermudan | Swing
    rate: float
    rules: tuple[ExerciseRule, ...]


@dataclass(frozen=True)
class _Twins:
    """The base and the bumped model driven by the same normals and the same jumps: the state of
    the base model (rows ``split`` and before) stacked on that of the bumped one."""

    base: Model
    base_grid: NDArray[np.float64]
    bumped: Model

    @property
    def n_factors(self) -> int:
        return self.bumped.n_factors

    @property
    def split(self) -> int:
        return self.base.n_factors + (1 if isinstance(self.base, JumpOU) else 0)

    def evolve(
        self, grid: NDArray[np.float64], normals: NDArray[np.float64], rng: np.random.Generator
    ) -> NDArray[np.float64]:
        twin_rng = copy.deepcopy(rng)
        base = self.base.evolve(self.base_grid, normals.copy(), twin_rng)
        return np.concatenate((base, self.bumped.evolve(grid, normals, rng)))


def _regression_paths(model: Model, grid: NDArray[np.float64], settings: MonteCarloSettings) -> int:
    state_width = model.n_factors + 1  # normals become the state in place; one more for regressors
    return max(64, min(settings.paths // REGRESSION_SHARE, REGRESSION_STATE_CAP // (grid.size * state_width)))


def exercise_rule(
    model: Model, instrument: Bermudan | Swing, rate: float, settings: MonteCarloSettings
) -> ExerciseRule:
    """The exercise rule ``price_lsm`` fits for these inputs (on the seed's regression streams)."""
    return _fit_rules(model, instrument, rate, settings, 1)[0]


def replicate_rules(
    model: Model, instrument: Bermudan | Swing, rate: float, settings: MonteCarloSettings
) -> tuple[ExerciseRule, ...]:
    """REPLICATES rules, each fitted on its own share of the regression paths: replicate r of a
    Greek's revaluations exercises by rule r, so the replicates' spread -- the Greek's standard
    error -- includes the variability of the fitted rule, to which a Greek is sensitive to first
    order (a value only to second)."""
    return _fit_rules(model, instrument, rate, settings, REPLICATES)


def _fit_rules(
    model: Model, instrument: Bermudan | Swing, rate: float, settings: MonteCarloSettings, count: int
) -> tuple[ExerciseRule, ...]:
    contract = _Contract.of(instrument)
    grid, rows = refine(contract.dates, settings.steps_per_year)
    # Children 0 and 1 drive the valuation paths (see ``estimate``); 2 and 3 the regression paths.
    normal_seed, jump_seed = np.random.SeedSequence(settings.seed).spawn(4)[2:]
    seeds = (
        [(normal_seed, jump_seed)]
        if count == 1
        else list(zip(normal_seed.spawn(count), jump_seed.spawn(count), strict=True))
    )
    paths = max(64, _regression_paths(model, grid, settings) // count)
    discounts = np.exp(-rate * contract.dates)
    return tuple(_learn_rule(model, contract, grid, rows, discounts, paths, pair) for pair in seeds)


def _width(model: Model, contract: _Contract, discounts: NDArray[np.float64]) -> NDArray[np.float64]:
    """Range of the discounted cash flows: bounded for vanilla puts on positive prices."""
    if contract.kind == "put" and contract.vanilla and not isinstance(model, ArithmeticOU):
        return np.array([contract.max_rights * float(np.max(discounts)) * max(contract.strike, 0.0)])
    return np.array([np.inf])


def price_lsm(
    model: Model,
    instrument: Bermudan | Swing,
    rate: float,
    settings: MonteCarloSettings,
    decisions: Decisions | None = None,
) -> MCResult:
    """Value a Bermudan option or a swing contract by Longstaff-Schwartz, with its standard error.

    The exercise rule is fitted on independent regression paths (``exercise_rule``). With
    ``decisions`` (a revaluation for the Greeks) each path exercises where the base request's rule
    exercised it on the base inputs, and is paid under these inputs.
    An unbounded exercise payoff (calls, and swings paying S - K or K - S) is refused where its tail
    cannot be sampled (``pricing.montecarlo.tails``).
    """
    contract = _Contract.of(instrument)
    if contract.kind == "call" or not contract.vanilla:
        require_sampled_tail(spot_moment(model, contract.dates), settings.paths, "this exercise payoff")
    grid, rows = refine(contract.dates, settings.steps_per_year)
    discounts = np.exp(-rate * contract.dates)
    if decisions is not None:
        return _revalue(model, contract, discounts, settings, decisions)
    fitted = exercise_rule(model, instrument, rate, settings)
    valuation = replace(settings, paths=max(2, settings.paths - fitted.paths))

    def evaluate(state: NDArray[np.float64], _: NDArray[np.intp]) -> NDArray[np.float64]:
        return _apply_rule(model, contract, fitted, state, discounts)[None]

    result = estimate(
        model, grid, rows, valuation, np.zeros(0), evaluate, "lsm", widths=_width(model, contract, discounts)
    )
    return replace(result, paths=result.paths + fitted.paths)


def _revalue(
    model: Model,
    contract: _Contract,
    discounts: NDArray[np.float64],
    settings: MonteCarloSettings,
    decisions: Decisions,
) -> MCResult:
    """The bumped revaluation of ``price_lsm``: the base paths' decisions, this model's cash flows."""
    base = _Contract.of(decisions.instrument)
    grid, rows = refine(contract.dates, settings.steps_per_year)
    base_grid, base_rows = refine(base.dates, settings.steps_per_year)
    if base_grid.size != grid.size or not np.array_equal(base_rows, rows):
        raise NotComputableError(
            "mc.steps_per_year", "the Greeks need the same simulation grid size for every bump; use null"
        )
    twins = _Twins(decisions.model, base_grid, model)
    base_discounts = np.exp(-decisions.rate * base.dates)
    regression_paths = sum(rule.paths for rule in decisions.rules)

    def evaluate(state: NDArray[np.float64], owners: NDArray[np.intp]) -> NDArray[np.float64]:
        base_state, bumped_state = state[: twins.split], state[twins.split :]
        spots = model.spots(contract.dates, bumped_state)
        cash = np.empty(owners.size)
        for replicate in np.unique(owners):
            mine = owners == replicate
            payout = (spots[:, mine], discounts)
            rule = decisions.rules[replicate]
            cash[mine] = _apply_rule(
                decisions.model, base, rule, base_state[:, :, mine], base_discounts, payout
            )
        return cash[None]

    valuation = replace(settings, paths=max(2, settings.paths - regression_paths))
    widths = _width(model, contract, discounts)
    result = estimate(twins, grid, rows, valuation, np.zeros(0), evaluate, "lsm", widths=widths)  # type: ignore[arg-type]
    return replace(result, paths=result.paths + regression_paths)
