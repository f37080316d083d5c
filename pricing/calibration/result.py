"""The outcome of a calibration: a ready-to-price model plus how much to trust it."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pricing.models import GBM, ArithmeticOU, JumpOU, Model, Schwartz1F, SchwartzSmith

MODEL_TYPES: dict[type, str] = {
    GBM: "gbm",
    Schwartz1F: "schwartz1f",
    SchwartzSmith: "schwartz_smith",
    ArithmeticOU: "arithmetic_ou",
    JumpOU: "jump_ou",
}


def model_to_request(model: Model) -> dict[str, Any]:
    """The pricing request's MODEL object (see issue 3 / docs/pricing.md) for a model instance."""
    fields = dataclasses.asdict(model)
    if "seasonality" in fields:
        fields["seasonality"]["terms"] = list(fields["seasonality"]["terms"])
    return {"type": MODEL_TYPES[type(model)], **fields}


@dataclass(frozen=True)
class Calibration:
    """A fitted model with the statistics a quant checks before using it.

    Times in ``model`` run from the last observation (t = 0 at ``as_of``), so the model prices
    forwards from that instant. ``std_errors`` are keyed like the request fields (nested ones as
    ``seasonality.terms[0].amplitude``); parameters held fixed, or set from the data rather than
    estimated (the current spot), have none. ``diagnostics`` describes the standardised one-step
    residuals (see :func:`pricing.calibration.diagnostics.residual_diagnostics`). ``intervals`` are 95%
    profile-likelihood intervals (when asked for), ``flags`` the parameters the data leave unbounded
    on a side (at a boundary or not identified; their standard errors are NaN). ``loglik`` is the
    density of the observed prices (not log prices) given the first one, for every model, so AIC
    and BIC rank models fitted to the same series.
    """

    model: Model
    std_errors: dict[str, float]
    loglik: float
    n_obs: int
    n_params: int
    as_of: pd.Timestamp
    method: str
    converged: bool
    diagnostics: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    flags: dict[str, str] = field(default_factory=dict)

    @property
    def params(self) -> dict[str, Any]:
        """The model in the pricing request's format."""
        return model_to_request(self.model)

    @property
    def aic(self) -> float:
        return 2.0 * self.n_params - 2.0 * self.loglik

    @property
    def bic(self) -> float:
        return self.n_params * math.log(self.n_obs) - 2.0 * self.loglik

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (NaN standard errors become null)."""

        def clean(value: float) -> float | None:
            return None if value is None or not math.isfinite(value) else value

        return {
            "model": self.params,
            "std_errors": {k: clean(v) for k, v in self.std_errors.items()},
            "intervals": {k: [clean(low), clean(high)] for k, (low, high) in self.intervals.items()},
            "flags": dict(self.flags),
            "loglik": self.loglik,
            "aic": self.aic,
            "bic": self.bic,
            "n_obs": self.n_obs,
            "n_params": self.n_params,
            "as_of": self.as_of.isoformat(),
            "method": self.method,
            "converged": self.converged,
            "diagnostics": {k: clean(v) if isinstance(v, float) else v for k, v in self.diagnostics.items()},
            "notes": list(self.notes),
        }
