"""A calibration sweep: every model fitted to every series, one task per (series, model) pair.

A quant choosing a spot model across GPU types fits each candidate to each price history and
compares the fits (log-likelihood, AIC, BIC, convergence, parameters). The pairs are independent, so
:func:`sweep` runs them one after another here, or on Dask (a local cluster or an existing scheduler,
:func:`pricing.distributed.compute_on`) with the series scattered to the workers once. A fit is
deterministic (maximum likelihood from fixed starting points), so both paths return the same table.
A pair whose fit fails is kept as a row with its reason rather than stopping the sweep.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pricing.distributed import run_tasks

if TYPE_CHECKING:
    from distributed import Client

COLUMNS = (
    "series", "model", "converged", "loglik", "aic", "bic", "n_obs", "flagged", "params", "error", "why",
)  # fmt: skip


@dataclass(frozen=True)
class Pair:
    """One task: the series' name and the model to fit to it."""

    series: str
    model: str


@dataclass(frozen=True)
class Fit:
    """What one pair gave: the fit's statistics and parameters (JSON), or why it failed.

    ``flagged`` names the parameters the data do not pin (comma-separated) and ``why`` gives each
    one's reason, or the optimiser's when a fit did not converge with nothing flagged.
    """

    series: str
    model: str
    converged: bool
    loglik: float
    aic: float
    bic: float
    n_obs: int
    flagged: str
    params: str
    error: str
    why: str = ""


def sweep(
    series: Mapping[str, pd.Series],
    models: Sequence[str],
    *,
    intervals: bool = False,
    scheduler: str | None = None,
    client: Client | None = None,
    progress: Callable[[int], Any] | None = None,
) -> pd.DataFrame:
    """Fit every model in ``models`` to every series, rows in (series, model) order.

    ``intervals`` adds profile-likelihood intervals to each fit's parameters (slow: a sweep over a
    cluster is where they are affordable). ``progress`` is called with 1 as each pair finishes.
    Unknown models are refused before any fit runs.
    """
    from pricing.calibration import MODELS

    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ValueError(f"unknown model {unknown[0]!r}: use one of {', '.join(MODELS)}")
    pairs = [Pair(name, model) for name in series for model in models]
    one = partial(_fit, intervals=intervals)
    fits = run_tasks(
        one, pairs, dict(series), scheduler=scheduler, client=client, advance=progress, label="fits"
    )
    return pd.DataFrame([asdict(f) for f in fits], columns=list(COLUMNS))


def _fit(series: Mapping[str, pd.Series], pair: Pair, *, intervals: bool) -> Fit:
    from pricing.calibration import calibrate

    try:
        with np.errstate(divide="ignore", invalid="ignore"):  # flat stretches of quotes: zero returns
            result = calibrate(series[pair.series], pair.model, intervals=intervals)
    except ValueError as exc:
        nan = math.nan
        return Fit(pair.series, pair.model, False, nan, nan, nan, len(series[pair.series]), "", "", str(exc))
    summary = result.as_dict()
    params = {key: summary[key] for key in ("model", "std_errors", "intervals", "flags")}
    why = "; ".join(f"{name} {reason}" for name, reason in result.flags.items())
    if not result.converged and not why:
        why = "; ".join(note for note in result.notes if note.startswith("standard errors unavailable"))
    return Fit(
        pair.series,
        pair.model,
        result.converged,
        result.loglik,
        result.aic,
        result.bic,
        result.n_obs,
        ",".join(result.flags),
        json.dumps(params, default=str),
        "",
        why,
    )
