"""Discounted payoffs of the path-dependent instruments and the control variates that go with them.

Each instrument becomes a ``Payoff``: the dates the model must be simulated on, the discounted
payoff per path, and controls with known means (used when variance reduction is on):

- forward: Y = e^(-r T) (mean_i S(t_i) - K); control e^(-r T) mean_i S(t_i), mean e^(-r T) mean_i
  F(0, t_i) -- Y is then estimated exactly.
- european: Y = e^(-r tau) (U - K)^+ (or put), U = S(tau), F(tau, T) or mean_i F(tau, t_i) from the
  simulated state; control e^(-r tau) U with mean e^(-r tau) F(0, .) (martingale property).
- asian: Y = e^(-r T) (A - K)^+, A the arithmetic or geometric average of S. Controls: the discounted
  arithmetic average (mean from the forwards) and, on log-Gaussian models, the geometric-average
  option, whose exact value is e^(-r T) Black(F_G, K, v_G) with ln G ~ N(m_G, v_G),
  m_G = mean_i E[ln S(t_i)], v_G = sum_ij Cov(ln S(t_i), ln S(t_j)) / n^2, F_G = e^(m_G + v_G / 2).
- cap: Y = mean_i e^(-r t_i) (S(t_i) - K)^+; control mean_i e^(-r t_i) S(t_i) with its known mean.
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
    """What to simulate (``times``), what to average (``sample``), and controls with their means."""

    times: NDArray[np.float64]
    sample: Sample
    controls: tuple[Sample, ...] = ()
    control_means: tuple[float, ...] = ()


def intrinsic(kind: OptionKind, underlying: NDArray[np.float64], strike: float) -> NDArray[np.float64]:
    """(U - K)^+ for a call, (K - U)^+ for a put."""
    return np.maximum(underlying - strike if kind == "call" else strike - underlying, 0.0)


def payoff_for(model: Model, instrument: PathInstrument, rate: float, with_controls: bool) -> Payoff:
    """The payoff, simulation dates and (if ``with_controls``) control variates of ``instrument``."""
    match instrument:
        case Forward():
            payoff = _forward(model, instrument, rate)
        case European():
            payoff = _european(model, instrument, rate)
        case Asian():
            payoff = _asian(model, instrument, rate, with_controls)
        case Cap():
            payoff = _cap(model, instrument, rate)
        case _:
            raise TypeError(f"Monte Carlo does not price {type(instrument).__name__}")
    if with_controls:
        return payoff
    return Payoff(payoff.times, payoff.sample)


def _forward(model: Model, instrument: Forward, rate: float) -> Payoff:
    times = np.asarray(instrument.fixings, dtype=float)
    discount = np.exp(-rate * instrument.payment)
    level = float(np.mean(model.forward(times)))

    def average(paths: Paths) -> NDArray[np.float64]:
        return discount * paths.spots.mean(axis=0)

    def sample(paths: Paths) -> NDArray[np.float64]:
        return average(paths) - discount * instrument.strike

    return Payoff(times, sample, (average,), (discount * level,))


def _european(model: Model, instrument: European, rate: float) -> Payoff:
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

    def sample(paths: Paths) -> NDArray[np.float64]:
        return intrinsic(instrument.kind, value(paths), discount * instrument.strike)

    mean = discount * float(np.mean(model.forward(maturities)))
    return Payoff(np.array([tau]), sample, (value,), (mean,))


def _asian(model: Model, instrument: Asian, rate: float, with_controls: bool) -> Payoff:
    times = np.asarray(instrument.fixings, dtype=float)
    discount = np.exp(-rate * instrument.payment)
    kind, strike = instrument.kind, instrument.strike
    if instrument.average == "geometric" and isinstance(model, ArithmeticOU):
        raise ValueError("a geometric average needs positive spots; arithmetic_ou spots can be negative")

    def arithmetic(paths: Paths) -> NDArray[np.float64]:
        return discount * paths.spots.mean(axis=0)

    def geometric_option(paths: Paths) -> NDArray[np.float64]:
        return discount * intrinsic(kind, np.exp(np.log(paths.spots).mean(axis=0)), strike)

    def arithmetic_option(paths: Paths) -> NDArray[np.float64]:
        return intrinsic(kind, arithmetic(paths), discount * strike)

    sample = arithmetic_option if instrument.average == "arithmetic" else geometric_option
    controls: list[Sample] = [arithmetic]
    means = [discount * float(np.mean(model.forward(times)))]
    if with_controls and isinstance(model, GBM | Schwartz1F | SchwartzSmith):  # O(n^2) in the fixings
        log_mean = float(np.mean(model.log_mean(times)))
        log_variance = average_variance(model.log_covariance, times)
        geometric_forward = np.exp(log_mean + 0.5 * log_variance)
        controls.append(geometric_option)
        means.append(discount * float(black(kind, geometric_forward, strike, log_variance)))
    return Payoff(times, sample, tuple(controls), tuple(means))


def _cap(model: Model, instrument: Cap, rate: float) -> Payoff:
    times = np.asarray(instrument.fixings, dtype=float)
    discounts = np.exp(-rate * times)

    def discounted_spots(paths: Paths) -> NDArray[np.float64]:
        return np.einsum("i,ij->j", discounts, paths.spots) / times.size

    def sample(paths: Paths) -> NDArray[np.float64]:
        return (
            np.einsum("i,ij->j", discounts, intrinsic(instrument.kind, paths.spots, instrument.strike))
            / times.size
        )

    mean = float(discounts @ model.forward(times)) / times.size
    return Payoff(times, sample, (discounted_spots,), (mean,))
