"""Move a fitted model to a later valuation instant without re-estimating its parameters.

A backtest that keeps parameters fixed between refits still has to start each forecast from the
latest price: the parameters stay, the state (spot, x0, chi/xi) and the time origin of f(t) move.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from pricing.calibration.schwartz_smith import kalman
from pricing.models import GBM, ArithmeticOU, JumpOU, Model, Schwartz1F, SchwartzSmith, Seasonality
from pricing.series import year_fractions


def _shifted(season: Seasonality, years: float) -> Seasonality:
    """f'(t) = f(t + years): the same curve seen from an origin ``years`` later."""
    terms = tuple(dataclasses.replace(term, phase=term.phase + years) for term in season.terms)
    return dataclasses.replace(season, mean=season.mean + season.trend * years, terms=terms)


def reanchor(model: Model, as_of: pd.Timestamp, history: pd.Series) -> Model:
    """``model`` (valued at ``as_of``) with the same parameters, valued at the end of ``history``."""
    last = float(history.iloc[-1])
    if isinstance(model, GBM | Schwartz1F):
        return dataclasses.replace(model, spot=last)
    years = float((history.index[-1] - as_of) / pd.Timedelta(hours=8760))
    if isinstance(model, ArithmeticOU):
        season = _shifted(model.seasonality, years)
        return dataclasses.replace(model, seasonality=season, x0=last - float(season(0.0)))
    if isinstance(model, JumpOU):
        season = _shifted(model.seasonality, years)
        return dataclasses.replace(model, seasonality=season, y0=0.0, x0=float(np.log(last) - season(0.0)))
    if isinstance(model, SchwartzSmith):
        t = np.asarray(year_fractions(history.index, history.index[-1]), dtype=float)
        _, _, (chi, xi) = kalman(dataclasses.asdict(model), np.diff(t), np.log(history.to_numpy(dtype=float)))
        return dataclasses.replace(model, chi0=chi, xi0=xi)
    raise TypeError(f"cannot re-anchor a {type(model).__name__}")
