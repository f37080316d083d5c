"""The waterfall against a hand-worked deal, a per-path reference, conservation and monotonicity."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from pricing.securitization.pool import simulate
from pricing.securitization.reference import run_loop
from pricing.securitization.waterfall import conservation_gap, run
from tests.pricing.securitization.deals import HAND_WORKED, deal_of, three_tranche

# Worked by hand in docs/securitization.md ("A deal worked by hand"): cash, fees, A and B interest,
# A and B principal, reserve at the period's end, residual; per period.
HAND_TABLE = [
    (10950.0, 100.0, 200.0, 200.0, 6000.0, 0.0, 500.0, 4150.0),
    (10950.0, 100.0, 140.0, 200.0, 6000.0, 0.0, 500.0, 4510.0),
    (-262.8, 100.0, 80.0, 200.0, 0.0, 0.0, 120.0, 0.0),
    (6278.0, 100.0, 80.0, 200.0, 5635.2, 0.0, 120.0, 0.0),
    (10950.0, 100.0, 23.648, 200.0, 2364.8, 8381.552, 0.0, 0.0),
]
HAND_BREACHES = [(False, False), (False, False), (True, True), (False, True), (False, True)]


def test_zero_volatility_no_default_deal_equals_the_hand_worked_waterfall() -> None:
    deal = deal_of(HAND_WORKED)
    pool = simulate(deal)
    flows = run(deal, pool.cash, pool.collateral)
    got = np.column_stack(
        [
            pool.cash[:, 0],
            flows.fees[:, 0],
            flows.interest[0, :, 0],
            flows.interest[1, :, 0],
            flows.principal[0, :, 0],
            flows.principal[1, :, 0],
            flows.reserve[:, 0],
            flows.residual[:, 0],
        ]
    )
    np.testing.assert_allclose(got, np.array(HAND_TABLE), rtol=0, atol=1e-9)
    assert [tuple(b) for b in flows.breach[:, :, 0].T.tolist()] == HAND_BREACHES
    np.testing.assert_allclose(flows.writedown[:, 0], [0.0, 1618.448], atol=1e-9)
    assert flows.deficit[0] == 0.0
    assert abs(conservation_gap(deal, pool.cash, flows)[0]) < 1e-9


@pytest.mark.parametrize("principal", ["sequential", "pro_rata"])
@pytest.mark.parametrize("amortisation", ["linear", "bullet"])
def test_vectorised_waterfall_equals_the_per_path_reference(principal: str, amortisation: str) -> None:
    deal = deal_of(three_tranche(paths=300, periods=24), principal=principal, amortisation=amortisation)
    pool = simulate(deal)
    fast, slow = run(deal, pool.cash, pool.collateral), run_loop(deal, pool.cash, pool.collateral)
    for name in (
        "interest",
        "principal",
        "fees",
        "residual",
        "reserve",
        "writedown",
        "interest_shortfall",
        "deficit",
    ):
        np.testing.assert_allclose(
            getattr(fast, name), getattr(slow, name), rtol=1e-12, atol=1e-6, err_msg=name
        )
    np.testing.assert_array_equal(fast.breach, slow.breach)
    assert fast.breach.any(), "the test deal must exercise the triggers"
    assert fast.writedown.any(), "the test deal must exercise losses"


@pytest.mark.parametrize("principal", ["sequential", "pro_rata"])
def test_conservation_per_path(principal: str) -> None:
    """Notes + fees + residual receive exactly the pool's cash (plus the initial reserve and any
    operating deficit left unpaid), on every path, including paths with negative collections."""
    data = three_tranche(paths=2000, periods=36)
    data["assets"][0]["opex"] = 1.6  # costs above revenue on many paths: deficits carried
    deal = deal_of(data, principal=principal)
    pool = simulate(deal)
    flows = run(deal, pool.cash, pool.collateral)
    assert (pool.cash < 0.0).any()
    scale = np.abs(pool.cash).sum(axis=0) + 1.0
    assert np.max(np.abs(conservation_gap(deal, pool.cash, flows)) / scale) < 1e-12
    assert (flows.writedown >= 0.0).all()
    assert (flows.reserve >= 0.0).all()
    assert (flows.residual >= 0.0).all()


@pytest.mark.parametrize("principal", ["sequential", "pro_rata"])
def test_senior_never_loses_more_than_junior_on_any_path(principal: str) -> None:
    deal = deal_of(three_tranche(paths=3000), principal=principal)
    pool = simulate(deal)
    flows = run(deal, pool.cash, pool.collateral)
    faces = np.array([t.face for t in deal.spec.tranches])[:, None]
    loss = flows.writedown / faces
    assert loss[2].mean() > 0.05, "the junior note must lose on many paths for the test to bite"
    assert (loss[0] <= loss[1] + 1e-12).all()
    assert (loss[1] <= loss[2] + 1e-12).all()


def test_more_overcollateralisation_never_raises_senior_loss() -> None:
    """Two ways to more OC: a higher senior trigger, and more capacity behind the same notes."""
    losses = []
    for trigger in (None, 1.2, 1.5, 2.0, 3.0):
        data = three_tranche(paths=3000)
        data["tranches"][0]["oc_trigger"] = trigger
        data["tranches"][0]["ic_trigger"] = None
        deal = deal_of(data)
        pool = simulate(deal)
        losses.append(run(deal, pool.cash, pool.collateral).writedown[0])
    means = [float(x.mean()) for x in losses]
    assert means[0] > 0.0
    assert all(later <= earlier + 1e-9 for earlier, later in itertools.pairwise(means)), means
    sized = []
    for gpus in (48, 64, 80, 96):
        data = three_tranche(paths=3000)
        for asset in data["assets"]:
            asset["gpus"] = gpus
        deal = deal_of(data)
        pool = simulate(deal)
        sized.append(float(run(deal, pool.cash, pool.collateral).writedown[0].mean()))
    assert sized[0] > 0.0
    assert all(later <= earlier for earlier, later in itertools.pairwise(sized)), sized
