"""Discounted payoffs of the path-dependent instruments and the control variates that go with them.

Each instrument becomes a ``Payoff``: the dates the model must be simulated on, the discounted
sample per path, controls with known means, and an exact ``offset`` added to the sample's mean.

Options are simulated on their bounded side. A call is valued as the put of the same strike plus
the exact discounted forward minus strike (put-call parity, exact because E[U] is known in closed
form): the put's payoff lies in [0, K], so its sample mean and standard error are trustworthy at any
volatility, and calls and puts from the same paths satisfy parity exactly. A call simulated directly
is as heavy-tailed as the spot, and at a large log-variance its paths never reach the region that
carries its value (``pricing.montecarlo.tails``).

- forward: e^(-r T) (mean_i F(0, t_i) - K) exactly when control variates are on (the payoff is its
  own control); otherwise Y = e^(-r T) (mean_i S(t_i) - K), refused where its tail is not sampled.
- european: put e^(-r tau) (K - U)^+, U = S(tau), F(tau, T) or mean_i F(tau, t_i) from the simulated
  state (call: + e^(-r tau) (E U - K)); control e^(-r tau) U with mean e^(-r tau) F(0, .).
- asian: put on A, the arithmetic or geometric average of S (call: + e^(-r T) (E A - K)); controls
  the discounted arithmetic average (mean from the forwards) and, on log-Gaussian models, the
  geometric-average put, whose exact value is e^(-r T) Black(F_G, K, v_G) with ln G ~ N(m_G, v_G),
  m_G = mean_i E[ln S(t_i)], v_G = sum_ij Cov(ln S(t_i), ln S(t_j)) / n^2, F_G = e^(m_G + v_G / 2).
  A geometric call under jump_ou (no closed-form E G) is simulated directly, if its tail allows.
- cap: floorlets mean_i e^(-r t_i) (K - S(t_i))^+ (cap: + mean_i e^(-r t_i) (F(0, t_i) - K));
  control mean_i e^(-r t_i) S(t_i) with its known mean.

The linear controls (U, the average, the spots) are unbounded: they are used only where their tail
is sampled, and their coefficients come from a pilot sample (``pricing.montecarlo.estimator``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from pricing.analytic.formulas import black
from pricing.instruments import (
    Asian,
    Cap,
    European,
    Forward,
    ForwardUnderlying,
    OptionKind,
    SpotUnderlying,
    SwapUnderlying,
)
from pricing.models import GBM, ArithmeticOU, Model, Schwartz1F, SchwartzSmith
from pricing.models.gaussian import average_variance
from pricing.montecarlo.tails import relative_second_moment, require_sampled_tail, spot_moment, tail_sampled

PathInstrument = Forward | European | Asian | Cap


@dataclass
class Paths:
    """A chunk of simulated paths seen at the payoff's dates: state (n_state, dates, paths)."""

    model: Model
    times: NDArray[np.float64]
    state: NDArray[np.float64]

    @cached_property
    def spots(self) -> NDArray[np.float64]:
        """Spot prices of shape (dates, paths)."""
        return self.model.spots(self.times, self.state)


Sample = Callable[[Paths], NDArray[np.float64]]


@dataclass(frozen=True)
class Payoff:
    """What to simulate (``times``), what to average (``sample``), controls with their means, and the
    exact part of the value (``offset``) that the sample's mean is added to."""

    times: NDArray[np.float64]
    sample: Sample
    controls: tuple[Sample, ...] = ()
    control_means: tuple[float, ...] = ()
    offset: float = 0.0
    ranges: tuple[float, ...] = ()
    """Width of the range of the sample and of each control (inf where unbounded); empty: all
    unbounded. Bounds the error a few rare paths can hide (``pricing.montecarlo.estimator``)."""

    def widths(self) -> NDArray[np.float64]:
        """(1 + k,) range widths of the sample and the controls."""
        if self.ranges:
            return np.asarray(self.ranges, dtype=float)
        return np.full(1 + len(self.controls), np.inf)


def intrinsic(kind: OptionKind, underlying: NDArray[np.float64], strike: float) -> NDArray[np.float64]:
    """(U - K)^+ for a call, (K - U)^+ for a put."""
    return np.maximum(underlying - strike if kind == "call" else strike - underlying, 0.0)


def _parity(kind: OptionKind, mean: float, strike: float) -> float:
    """What a call adds to the put of the same strike: its discounted forward minus strike."""
    return mean - strike if kind == "call" else 0.0


def payoff_for(
    model: Model, instrument: PathInstrument, rate: float, with_controls: bool, paths: int
) -> Payoff:
    """The payoff, simulation dates, controls (if ``with_controls``) and exact offset of
    ``instrument`` valued with ``paths`` paths; NotComputableError when an unbounded payoff's tail cannot be
    sampled with that many."""
    match instrument:
        case Forward():
            return _forward(model, instrument, rate, with_controls, paths)
        case European():
            return _european(model, instrument, rate, with_controls, paths)
        case Asian():
            return _asian(model, instrument, rate, with_controls, paths)
        case Cap():
            return _cap(model, instrument, rate, with_controls, paths)
        case _:
            raise TypeError(f"Monte Carlo does not price {type(instrument).__name__}")


def _linear(
    with_controls: bool, v_eff: float, paths: int, control: Sample, mean: float
) -> tuple[tuple[Sample, ...], tuple[float, ...]]:
    """A linear (unbounded) control, kept only when asked for and its tail is sampled."""
    if with_controls and tail_sampled(v_eff, paths):
        return (control,), (mean,)
    return (), ()


def _put_width(model: Model, discounted_strike: float) -> float:
    """The range width of a put paying at most the (discounted) strike: infinite under the normal
    model, whose prices are unbounded below."""
    return np.inf if isinstance(model, ArithmeticOU) else max(discounted_strike, 0.0)


def _widths(first: float, controls: tuple[Sample, ...], *bounded: float) -> tuple[float, ...]:
    """Ranges of the sample and its controls: the linear controls (first) are unbounded."""
    return (first, *([np.inf] * (len(controls) - len(bounded))), *bounded)


def _forward(model: Model, instrument: Forward, rate: float, with_controls: bool, paths: int) -> Payoff:
    times = np.asarray(instrument.fixings, dtype=float)
    discount = np.exp(-rate * instrument.payment)
    exact = float(discount * (np.mean(model.forward(times)) - instrument.strike))
    if with_controls:  # the payoff is its own control: Y - C is the constant -e^(-rT) K

        def nothing(paths: Paths) -> NDArray[np.float64]:
            return np.zeros(paths.state.shape[-1])

        return Payoff(times, nothing, offset=exact, ranges=(0.0,))
    require_sampled_tail(spot_moment(model, times), paths, "a forward without control variates")

    def sample(paths: Paths) -> NDArray[np.float64]:
        return discount * (paths.spots.mean(axis=0) - instrument.strike)

    return Payoff(times, sample)


def _european(model: Model, instrument: European, rate: float, with_controls: bool, paths: int) -> Payoff:
    tau = instrument.expiry
    discount = np.exp(-rate * tau)
    underlying = instrument.underlying
    match underlying:
        case SpotUnderlying():
            maturities = np.array([tau])
        case ForwardUnderlying():
            maturities = np.array([underlying.maturity])
        case SwapUnderlying():
            maturities = np.asarray(underlying.fixings, dtype=float)
    if np.any(maturities < tau):
        raise ValueError("the underlying's delivery times must not precede the expiry")

    def value(paths: Paths) -> NDArray[np.float64]:
        if isinstance(underlying, SpotUnderlying):
            return discount * paths.spots[-1]
        return discount * model.conditional_forward(tau, paths.state[:, -1], maturities).mean(axis=0)

    def put(paths: Paths) -> NDArray[np.float64]:
        return intrinsic("put", value(paths), discount * instrument.strike)

    mean = discount * float(np.mean(model.forward(maturities)))
    v_eff = relative_second_moment(model, tau, maturities)
    controls, means = _linear(with_controls, v_eff, paths, value, mean)
    offset = _parity(instrument.kind, mean, discount * instrument.strike)
    ranges = _widths(_put_width(model, discount * instrument.strike), controls)
    return Payoff(np.array([tau]), put, controls, means, offset, ranges)


def _asian(model: Model, instrument: Asian, rate: float, with_controls: bool, paths: int) -> Payoff:
    times = np.asarray(instrument.fixings, dtype=float)
    discount = np.exp(-rate * instrument.payment)
    kind, strike = instrument.kind, instrument.strike
    if instrument.average == "geometric" and isinstance(model, ArithmeticOU):
        raise ValueError("a geometric average needs positive spots; arithmetic_ou spots can be negative")

    def arithmetic(paths: Paths) -> NDArray[np.float64]:
        return discount * paths.spots.mean(axis=0)

    def geometric(paths: Paths) -> NDArray[np.float64]:
        return np.exp(np.log(paths.spots).mean(axis=0))

    def geometric_put(paths: Paths) -> NDArray[np.float64]:
        return discount * intrinsic("put", geometric(paths), strike)

    def geometric_call(paths: Paths) -> NDArray[np.float64]:
        return discount * intrinsic("call", geometric(paths), strike)

    def arithmetic_put(paths: Paths) -> NDArray[np.float64]:
        return intrinsic("put", arithmetic(paths), discount * strike)

    v_eff = spot_moment(model, times)
    mean = discount * float(np.mean(model.forward(times)))
    controls, means = _linear(with_controls, v_eff, paths, arithmetic, mean)
    width = _put_width(model, discount * strike)
    parity = _parity(kind, mean, discount * strike)
    if not isinstance(model, GBM | Schwartz1F | SchwartzSmith):  # no closed form for the geometric average
        if instrument.average == "arithmetic":
            return Payoff(times, arithmetic_put, controls, means, parity, _widths(width, controls))
        if kind == "put":
            return Payoff(times, geometric_put, controls, means, 0.0, _widths(width, controls))
        require_sampled_tail(v_eff, paths, "a geometric-average call")
        return Payoff(times, geometric_call, controls, means)
    log_mean = float(np.mean(model.log_mean(times)))
    log_variance = average_variance(model.log_covariance, times)  # O(n^2) in the fixings
    geometric_forward = discount * float(np.exp(log_mean + 0.5 * log_variance))
    geometric_put_value = discount * float(black("put", geometric_forward / discount, strike, log_variance))
    if instrument.average == "geometric":  # with controls, the put is its own control: exact
        offset = _parity(kind, geometric_forward, discount * strike)
        if not with_controls:
            return Payoff(times, geometric_put, offset=offset, ranges=(width,))
        return Payoff(times, geometric_put, (geometric_put,), (geometric_put_value,), offset, (width, width))
    if with_controls:
        controls, means = (*controls, geometric_put), (*means, geometric_put_value)
        return Payoff(times, arithmetic_put, controls, means, parity, _widths(width, controls, width))
    return Payoff(times, arithmetic_put, controls, means, parity, _widths(width, controls))


def _cap(model: Model, instrument: Cap, rate: float, with_controls: bool, paths: int) -> Payoff:
    times = np.asarray(instrument.fixings, dtype=float)
    discounts = np.exp(-rate * times)

    def discounted_spots(paths: Paths) -> NDArray[np.float64]:
        return np.einsum("i,ij->j", discounts, paths.spots) / times.size

    def floor(paths: Paths) -> NDArray[np.float64]:
        return np.einsum("i,ij->j", discounts, intrinsic("put", paths.spots, instrument.strike)) / times.size

    mean = float(discounts @ model.forward(times)) / times.size
    controls, means = _linear(with_controls, spot_moment(model, times), paths, discounted_spots, mean)
    offset = _parity(instrument.kind, mean, float(np.mean(discounts)) * instrument.strike)
    ranges = _widths(_put_width(model, float(np.max(discounts)) * instrument.strike), controls)
    return Payoff(times, floor, controls, means, offset, ranges)
