"""Independent references for the Monte Carlo reliability tests: exact small cases computed here by
numerical integration, sharing no code with ``pricing`` beyond the model parameters.

- ``two_fixing_asian_put``: an arithmetic Asian put on two fixings under GBM. Given S(t1), the
  second fixing is log-normal, so E[(K - (S1 + S2)/2)^+ | S1] is a Black put on S2 struck at
  2K - S1 (halved); one-dimensional quadrature over ln S(t1) does the rest.
- ``jump_ou_put``: a European put on the spot of jump_ou by Gil-Pelaez inversion of the
  characteristic function of ln S(T): Gaussian for the diffusion, and for the jumps (Campbell's
  formula with exponential sizes of mean m, decay beta, rate lambda)
  E[exp(iu Y(T))] = exp(iu y0 e^(-beta T)) ((1 - ium e^(-beta T)) / (1 - ium))^(lambda / beta).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate
from scipy.stats import norm


def black_put(forward: float, strike: float, variance: float) -> float:
    """E[(K - F e^(sqrt(v) Z - v/2))^+]."""
    if strike <= 0.0:
        return 0.0
    sd = math.sqrt(variance)
    d1 = (math.log(forward / strike) + 0.5 * variance) / sd
    return strike * norm.cdf(-(d1 - sd)) - forward * norm.cdf(-d1)


def two_fixing_asian_put(spot: float, vol: float, t1: float, t2: float, strike: float) -> float:
    """Undiscounted E[(K - (S(t1) + S(t2)) / 2)^+] under driftless GBM (carry 0)."""
    sd1 = vol * math.sqrt(t1)
    gap = vol**2 * (t2 - t1)

    def integrand(z: float) -> float:
        s1 = spot * math.exp(sd1 * z - 0.5 * sd1**2)
        left = 2.0 * strike - s1
        return 0.5 * black_put(s1, left, gap) * norm.pdf(z) if left > 0.0 else 0.0

    kink = (math.log(2.0 * strike / spot) + 0.5 * sd1**2) / sd1  # where 2K - S1 = 0
    pieces = [(-12.0, min(kink, 12.0))]
    return sum(
        integrate.quad(integrand, lo, hi, epsabs=1e-13, epsrel=1e-11, limit=400)[0] for lo, hi in pieces
    )


def jump_ou_characteristic(
    u: complex,
    *,
    level: float,
    x0: float,
    kappa: float,
    vol: float,
    y0: float,
    rate: float,
    mean: float,
    reversion: float,
    expiry: float,
) -> complex:
    """E[exp(iu ln S(T))], ln S = level + X + Y (``level`` the seasonal f(T))."""
    decay = math.exp(-kappa * expiry)
    variance = vol**2 * (1.0 - math.exp(-2.0 * kappa * expiry)) / (2.0 * kappa)
    gaussian = 1j * u * (level + x0 * decay) - 0.5 * u * u * variance
    a = 1j * u * mean
    jump_decay = math.exp(-reversion * expiry)
    jumps = 1j * u * y0 * jump_decay + rate / reversion * (np.log(1.0 - a * jump_decay) - np.log(1.0 - a))
    return complex(np.exp(gaussian + jumps))


def jump_ou_put(strike: float, **law: float) -> float:
    """Undiscounted E[(K - S(T))^+] = K P(S < K) - E[S; S < K] by Gil-Pelaez inversion."""
    k = math.log(strike)
    forward = jump_ou_characteristic(-1j, **law).real

    def probability(u: float) -> float:
        return (np.exp(-1j * u * k) * jump_ou_characteristic(u, **law)).imag / u

    def share(u: float) -> float:
        return (np.exp(-1j * u * k) * jump_ou_characteristic(u - 1j, **law)).imag / (u * forward)

    upper = 60.0 / math.sqrt(
        law["vol"] ** 2 * (1.0 - math.exp(-2.0 * law["kappa"] * law["expiry"])) / (2.0 * law["kappa"])
    )
    below = 0.5 - integrate.quad(probability, 0.0, upper, limit=2000, epsabs=1e-12)[0] / math.pi
    share_below = 0.5 - integrate.quad(share, 0.0, upper, limit=2000, epsabs=1e-12)[0] / math.pi
    return strike * below - forward * share_below


def swing_put_dp(
    spot: float, vol: float, rate: float, strike: float, dates: list[float], rights: int, nodes: int = 1601
) -> float:
    """A vanilla swing put (at most ``rights`` exercises, one per date) under driftless GBM by dynamic
    programming on a grid in ln S, with exact cell probabilities of the Gaussian transitions."""
    times = np.asarray(dates, dtype=float)
    x0, half = math.log(spot), 8.0 * vol * math.sqrt(times[-1])
    x = np.linspace(x0 - half, x0 + half, nodes)
    edges = np.concatenate(([-np.inf], 0.5 * (x[1:] + x[:-1]), [np.inf]))

    def transition(start: np.ndarray, step: float) -> np.ndarray:
        mean, sd = start - 0.5 * vol * vol * step, vol * math.sqrt(step)
        return np.diff(norm.cdf((edges[None, :] - mean[:, None]) / sd), axis=1)

    payoff = np.maximum(strike - np.exp(x), 0.0)
    value = np.zeros((rights + 1, nodes))  # by rights used, after the last date
    matrices: dict[float, np.ndarray] = {}
    for m in range(times.size - 1, -1, -1):
        gain = math.exp(-rate * times[m]) * payoff
        decided = value.copy()
        for used in range(rights):
            decided[used] = np.maximum(value[used], gain + value[used + 1])
        step = round(times[m] - (times[m - 1] if m else 0.0), 12)
        if not m:
            value = decided @ transition(np.array([x0]), step).T
        else:
            if step not in matrices:
                matrices[step] = transition(x, step)
            value = decided @ matrices[step].T
    return float(value[0, 0])
