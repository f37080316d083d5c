"""The model a market would have used: at each origin, the candidate with the best score known then.

Ranking models by their CRPS over the whole backtest and reporting the winner's coverage looks ahead:
the choice uses outcomes that come after most of the forecasts it is judged on. ``selected_rows``
makes the choice the way a live market would (``pricing.selection`` reruns it on a schedule): at
origin t, each candidate's mean CRPS over its forecasts whose windows had ended by t (every horizon
pooled, so the one-day outcomes steer the choice long before any seven-day one is known), and the
forecasts of the lowest at t become the ``selected`` rows of t, with the chosen model in
``selected_from``. A candidate whose known forecasts include a failure is not chosen, nor one whose
fit or simulation failed at t itself (a market knows that at t). **Warm-up**:
origins before any outcome is known have no selected forecast (they are left out, not filled with a
default picked from the results), so the selected row set is a little shorter than the candidates'.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pricing.backtest.recalibration import _known_at

SELECTED = "selected"


def selected_rows(rows: Sequence[dict], candidates: Sequence[str]) -> list[dict]:
    """Copies (model ``selected``) of the forecasts of the candidate with the lowest mean CRPS over the
    outcomes known at each origin, per averaging window; origins with none known are skipped."""
    out: list[dict] = []
    by_window: dict[str, list[dict]] = {}
    for row in rows:
        if row["model"] in candidates:
            by_window.setdefault(row["window"], []).append(row)
    for window, group in by_window.items():
        origins = pd.DatetimeIndex(sorted({r["origin"] for r in group}))
        scores = np.full((len(candidates), len(origins)), np.inf)
        for k, name in enumerate(candidates):
            scores[k] = _known_means(
                [r for r in group if r["model"] == name and np.isfinite(r["realised"])], window, origins
            )
        for k, name in enumerate(candidates):  # a fit that failed at t is known at t: not chosen at t
            issued = {r["origin"] for r in group if r["model"] == name and not r.get("error")}
            scores[k, [origin not in issued for origin in origins]] = np.inf
        for j, origin in enumerate(origins):
            if not np.isfinite(scores[:, j].min()):
                continue  # warm-up: nothing known yet (or every candidate failed)
            choice = candidates[int(np.argmin(scores[:, j]))]
            out += [
                {**r, "model": SELECTED, "selected_from": choice}
                for r in group
                if r["model"] == choice and r["origin"] == origin
            ]
    return out


def _known_means(scored: list[dict], window: str, origins: pd.DatetimeIndex) -> np.ndarray:
    """Mean CRPS of the scored forecasts known at each origin (inf: none known, or a failure among them)."""
    if not scored:
        return np.full(len(origins), np.inf)
    known = pd.DatetimeIndex([_known_at(r, window) for r in scored])
    order = np.argsort(known.asi8, kind="stable")
    crps = np.array([r["crps"] for r in scored], dtype=float)[order]
    failed = np.cumsum(~np.isfinite(crps))
    total = np.cumsum(np.where(np.isfinite(crps), crps, 0.0))
    count = np.searchsorted(known.asi8[order], origins.asi8, side="right")
    mean = np.full(len(origins), np.inf)
    has = count > 0
    last = count[has] - 1
    mean[has] = np.where(failed[last] == 0, total[last] / count[has], np.inf)
    return mean
