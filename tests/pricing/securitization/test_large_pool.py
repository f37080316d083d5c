"""Large-pool limit: many small providers under the one-factor default model give the tranche
expected losses of the Vasicek large-homogeneous-pool closed form, within Monte Carlo error."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from pricing.securitization.analytics import tranche_metrics, value
from pricing.securitization.deal import parse_deal
from pricing.securitization.vasicek import finite_pool_tranche_loss, lhp_tranche_loss

PD, RHO, RECOVERY = 0.05, 0.2, 0.4
TRANCHES = (("senior", 0.15, 1.0), ("mezzanine", 0.05, 0.15), ("junior", 0.0, 0.05))


def granular_pool(providers: int, paths: int) -> dict[str, Any]:
    """One year, one period; each provider's GPU earns exactly 1 USD unless it defaults, when it
    earns its recovery; zero-coupon notes tranche the pool's cash at the attachment points."""
    intensity = -math.log(1.0 - PD)
    return {
        "periods": 1,
        "period_months": 12,
        "index": {"path": [1.0 / 8760.0]},
        "providers": [
            {"name": f"p{i}", "default_intensity": intensity, "recovery": RECOVERY} for i in range(providers)
        ],
        "assets": [
            {"provider": f"p{i}", "product": "H100", "region": "r", "gpus": 1} for i in range(providers)
        ],
        "defaults": {"correlation": RHO},
        "tranches": [{"name": name, "face": (d - a) * providers} for name, a, d in TRANCHES],
        "mc": {"paths": paths, "seed": 5},
    }


def check_limit(providers: int, paths: int) -> None:
    metrics = tranche_metrics(value(parse_deal(granular_pool(providers, paths))))
    for m, (name, attach, detach) in zip(metrics, TRANCHES, strict=True):
        limit = lhp_tranche_loss(PD, RHO, 1.0 - RECOVERY, attach, detach)
        granularity = abs(
            finite_pool_tranche_loss(providers, PD, RHO, 1.0 - RECOVERY, attach, detach) - limit
        )
        assert m.name == name
        assert abs(m.expected_loss - limit) <= 4.0 * m.expected_loss_std_error + granularity, (
            name,
            m.expected_loss,
            m.expected_loss_std_error,
            limit,
            granularity,
        )
        assert granularity < 0.1 * limit + 1e-6  # the pool is close enough to the limit to test it


def test_vasicek_closed_form_against_an_independent_quadrature() -> None:
    """Equity-style tranche [0, 1] of a pool has expected loss lgd * p whatever the correlation."""
    assert lhp_tranche_loss(PD, RHO, 0.6, 0.0, 1.0) == pytest.approx(0.6 * PD, abs=1e-10)
    z = np.linspace(-8.0, 8.0, 20001)
    from scipy.stats import norm

    rate = norm.cdf((norm.ppf(PD) - math.sqrt(RHO) * z) / math.sqrt(1.0 - RHO))
    loss = np.clip(0.6 * rate - 0.05, 0.0, 0.1) / 0.1
    assert lhp_tranche_loss(PD, RHO, 0.6, 0.05, 0.15) == pytest.approx(
        np.trapezoid(loss * norm.pdf(z), z), abs=1e-8
    )


def test_large_pool_matches_vasicek_lhp() -> None:
    check_limit(providers=1000, paths=4000)


@pytest.mark.slow
def test_large_pool_matches_vasicek_lhp_full() -> None:
    check_limit(providers=4000, paths=40000)
