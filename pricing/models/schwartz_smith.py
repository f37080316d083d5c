"""Schwartz-Smith (2000) two-factor model: ln S = chi + xi."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SchwartzSmith:
    """Short-term deviation chi (mean-reverting) plus long-run level xi (drifting random walk).

    d chi = (-kappa chi - lambda_chi) dt + sigma_chi dZ1; d xi = mu_xi dt + sigma_xi dZ2;
    dZ1 dZ2 = rho dt. A negative ``mu_xi`` models depreciation across hardware generations.
    """

    chi0: float
    xi0: float
    kappa: float
    sigma_chi: float
    mu_xi: float
    sigma_xi: float
    rho: float
    lambda_chi: float = 0.0
