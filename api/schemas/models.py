"""A product's market model over HTTP (see market.models): which model, why, how well, since when."""

from __future__ import annotations

from api.schemas.common import mirror
from market.records import ModelInfo

ModelOut = mirror(
    ModelInfo,
    "ModelOut",
    __name__,
    """The market model behind a product's marks, margins and quotes.

    ``source`` is ``selected`` (the best mean CRPS out of sample among the models the pricing engine
    can value, recalibrated daily by the lifecycle's ``refresh_models`` duty) or ``fallback`` (the
    lognormal rule; ``reason`` says why). ``params`` is the pricing MODEL object as calibrated, valued
    at ``calibrated_at`` (the last observation the fit saw; for the fallback, valued now).
    ``score`` is the chosen model's out-of-sample record (``crps``, ``pinball``, ``coverage`` of its
    50/80/90/95% intervals, ``n`` forecasts), ``ranking`` every candidate's, ``calibration`` the fit's
    standard errors, flags and residual diagnostics, ``settings`` the backtest's (horizons, training
    window, origins, data span).
    """,
)
