"""Synthetic price series: any model of :mod:`pricing.models` simulated on a calendar.

Used where the right answer must be known (parameter recovery, backtests of a model on its own
data) and for demos. The model's t = 0 is the first timestamp; times are ACT/365F year fractions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pricing.models import Model
from pricing.series import HOURS_PER_YEAR


def generate(
    model: Model,
    *,
    start: str | pd.Timestamp = "2026-01-01",
    periods: int = 24 * 28,
    freq: str = "1h",
    seed: int | np.random.Generator = 0,
    paths: int | None = None,
) -> pd.Series | pd.DataFrame:
    """Simulate ``model`` on ``periods`` points of a UTC calendar of step ``freq``.

    Returns a price series (``paths=None``) or a DataFrame with one column per path.
    """
    if periods < 2:
        raise ValueError("periods must be at least 2")
    first = pd.Timestamp(start)
    first = first.tz_localize("UTC") if first.tz is None else first.tz_convert("UTC")
    index = pd.date_range(first, periods=periods, freq=freq, name="timestamp")
    times = np.asarray((index - index[0]) / pd.Timedelta(hours=HOURS_PER_YEAR), dtype=float)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    values = model.simulate(times, 1 if paths is None else paths, rng)
    if paths is None:
        return pd.Series(values[0], index=index, name="price")
    return pd.DataFrame(values.T, index=index, columns=[f"path{i}" for i in range(paths)])
