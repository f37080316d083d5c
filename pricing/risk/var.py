"""Value-at-risk and expected shortfall of a book: historical simulation beside model Monte Carlo.

Both revalue the whole book (:meth:`pricing.risk.book.Book.values`, the pricing core's closed forms)
under a sample of price moves over the horizon and read the loss distribution:

- **historical simulation** (the Basel way): the moves are the log-returns of the product's index
  over every past horizon in the look-back, applied to today's forwards;
- **model Monte Carlo**: the moves are drawn from the market model (driftless GBM, the marks'
  volatility): ``ln(F_h / F) ~ N(-vol^2 h / 2, vol^2 h)``.

Conventions, for ``n`` losses sorted worst first: ``VaR_a`` is the ``k``-th worst loss with
``k = ceil(n (1 - a))`` (so 250 days at 99% take the 3rd worst, as the Basel backtests count) and
``ES_a`` the mean of the ``ceil(n (1 - a))`` worst losses. Reported at VaR 99% and ES 97.5% (the
Basel FRTB pair).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pricing.risk.book import DAYS_PER_YEAR, Book

VAR_LEVEL = 0.99
ES_LEVEL = 0.975


@dataclass(frozen=True)
class RiskFigures:
    """VaR and ES of one method, USD (positive: a loss)."""

    method: str
    var: float
    es: float
    var_level: float
    es_level: float
    scenarios: int


def tail_count(n: int, level: float) -> int:
    """How many of ``n`` losses lie in the tail beyond the ``level`` quantile (at least one)."""
    return max(1, math.ceil(round(n * (1 - level), 9)))


def var_es(
    losses: ArrayLike, var_level: float = VAR_LEVEL, es_level: float = ES_LEVEL
) -> tuple[float, float]:
    """``(VaR, ES)`` of a loss sample by the conventions of the module docstring."""
    worst = np.sort(np.asarray(losses, dtype=float))[::-1]
    if worst.size == 0:
        raise ValueError("no scenarios to read a VaR from")
    var = float(worst[tail_count(worst.size, var_level) - 1])
    es = float(worst[: tail_count(worst.size, es_level)].mean())
    return var, es


def pnl(book: Book, log_moves: ArrayLike, vol: float) -> NDArray[np.float64]:
    """Profit of the book under each log price move (volatility unchanged)."""
    moves = np.asarray(log_moves, dtype=float)
    base = book.values(np.ones((1, 1)), np.array([[vol]]))
    scenario = book.values(np.exp(moves)[:, None], np.array([[vol]]))
    return ((scenario - base) * book.units).sum(axis=1)


def horizon_returns(prices: ArrayLike, steps: int) -> NDArray[np.float64]:
    """Overlapping log-returns over ``steps`` observations of a price history."""
    p = np.log(np.asarray(prices, dtype=float))
    if p.size <= steps:
        raise ValueError(f"the history needs more than {steps} observations")
    return p[steps:] - p[:-steps]


def historical(
    book: Book,
    vol: float,
    prices: ArrayLike,
    steps: int,
    var_level: float = VAR_LEVEL,
    es_level: float = ES_LEVEL,
) -> RiskFigures:
    """Historical-simulation VaR and ES over ``steps``-observation moves of the index history."""
    moves = horizon_returns(prices, steps)
    var, es = var_es(-pnl(book, moves, vol), var_level, es_level)
    return RiskFigures("historical", var, es, var_level, es_level, moves.size)


def gbm_moves(vol: float, horizon_days: float, paths: int, seed: int) -> NDArray[np.float64]:
    """Log price moves over the horizon drawn from the driftless GBM market model."""
    h = horizon_days / DAYS_PER_YEAR
    rng = np.random.default_rng(seed)
    return rng.standard_normal(paths) * vol * math.sqrt(h) - 0.5 * vol * vol * h


def monte_carlo(
    book: Book,
    vol: float,
    horizon_days: float,
    paths: int = 20_000,
    seed: int = 0,
    var_level: float = VAR_LEVEL,
    es_level: float = ES_LEVEL,
) -> RiskFigures:
    """Model Monte Carlo VaR and ES over ``horizon_days``."""
    var, es = var_es(-pnl(book, gbm_moves(vol, horizon_days, paths, seed), vol), var_level, es_level)
    return RiskFigures("monte_carlo", var, es, var_level, es_level, paths)
