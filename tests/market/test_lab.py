"""The stress lab: determinism, conservation, the clearing rules it shares, and the validation
relations (controls not amplified; amplification rising with leverage and return chasers)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from market import basket
from market.clearing import calls, liquidation, waterfall
from market.lab import measures, scenario, simulation, sweep
from market.lab.exchange import ConservationError

SMALL = {"hours": 30, "shock": {"at_hour": 8}}


def small(**population: float) -> scenario.Scenario:
    return scenario.named("generation-shock").with_changes({**SMALL, "population": population})


def amplification(sc: scenario.Scenario, seed: int) -> float:
    return measures.amplification(simulation.run(sc, seed), simulation.run(sc, seed, feedback=False))


def test_a_seed_replays_exactly() -> None:
    sc = small(leverage=6.0)
    one, two = simulation.run(sc, 7), simulation.run(sc, 7)
    assert one.totals == two.totals
    assert one.commands == two.commands
    for key, series in one.series.items():
        np.testing.assert_array_equal(series, two.series[key], err_msg=key)
    assert one.totals["margin_calls"] > 0
    assert one.totals["forced_lots"] > 0


def test_controls_are_not_amplified_and_feedback_is() -> None:
    assert amplification(small(leverage=0.0, chaser_share=0.0), 3) == pytest.approx(1.0, abs=0.02)
    levered = [amplification(small(leverage=8.0, chaser_share=0.0), seed) for seed in (3, 4)]
    chasing = [amplification(small(leverage=0.0, chaser_share=1.0), seed) for seed in (3, 4)]
    assert min(levered) > 1.05
    assert min(chasing) > 1.01


def test_mitigations_are_compared_on_the_same_seeds_against_one_control() -> None:
    tiny = small(leverage=6.0).with_changes({"hours": 16, "shock": {"at_hour": 4}})
    rows = sweep.compare_mitigations(tiny, [5], ["exchange rules", "price band 5%"])
    assert [row["label"] for row in rows] == ["exchange rules", "price band 5%"]
    control = simulation.run(tiny, 5, feedback=False)
    assert rows[0]["amplification"] == pytest.approx(rows[0]["drawdown"] / measures.drawdown(control))
    banded = rows[1]
    assert banded["mispricing"] > rows[0]["mispricing"]  # the band stops the repricing, it does not damp it
    summary = sweep.summarize(rows, ["amplification"])
    assert summary[0]["seeds"] == 1
    assert summary[0]["amplification_lo"] == summary[0]["amplification"]


def test_a_broken_invariant_is_caught() -> None:
    sc = small(leverage=6.0)
    done: list[int] = []
    run = simulation.run(sc, 1, progress=done.append)
    assert done[-1] == sc.steps
    assert len(run.series["nav"]) == sc.steps
    ex, _ = simulation._setup(sc, 1, simulation.world(sc, 1))
    ex.check()
    row = ex.position("mm0", next(iter(ex.instruments)))
    row["qty"] += 1  # a lot from nowhere
    with pytest.raises(ConservationError, match="positions net to 1"):
        ex.check()


def test_clearing_rules_the_lab_shares() -> None:
    assert calls.decide(100, 79, None) == calls.OPEN
    assert calls.decide(100, 80, None) is None
    assert calls.decide(100, 100, calls.OPEN) == calls.MET
    assert calls.decide(100, 100, calls.LIQUIDATING) == calls.CLOSED
    assert calls.decide(100, 50, calls.OPEN) is None
    assert liquidation.slice_lots(10, 100) == 3
    assert liquidation.slice_lots(-10, 2) == 2
    assert liquidation.slice_lots(10, 100, 1.0) == 10
    assert liquidation.slice_lots(1, 0) == 0
    plan = waterfall.allocate("a", 1_000, {"a": 100, "b": 300, "c": 100}, 200, lambda m: 50)
    assert (plan.own, plan.capital, plan.fund) == (100, 200, (("b", 300), ("c", 100)))
    assert plan.assessments == (("b", 50), ("c", 50))
    assert plan.uncovered == 200
    moves = waterfall.contribution_moves({"a": 10, "z": 5}, 100, {"a": 3, "b": 1}, lambda m: 60)
    assert moves == {"a": 60, "b": 25, "z": -5}


def test_basket_arithmetic() -> None:
    spec = basket.BasketSpec("B", (basket.Leg("H100", 2), basket.Leg("B200", 1)), fee_ppm=2_500)
    assert spec.strip(3) == (basket.Leg("H100", 6), basket.Leg("B200", 3))
    assert (
        spec.strip_value({"H100": 2_000_000, "B200": 4_000_000}, {"H100": 744, "B200": 744}) == 5_952_000_000
    )
    assert basket.nav(1_000_001, 10) == 100_000
    assert basket.creation_cash(2, 1_000, 2_500) == 2_005
    assert basket.redemption_cash(2, 1_000, 2_500) == 1_995
    assert basket.premium_bps(1_010, 1_000) == pytest.approx(100.0)
    with pytest.raises(ValueError, match="whole number"):
        basket.BasketSpec("B", (basket.Leg("H100", 0),))


def test_scenarios_load_by_name_or_file(tmp_path) -> None:
    assert set(scenario.SCENARIOS) == {"generation-shock", "scarcity-spike", "index-outage", "basket-run"}
    path = tmp_path / "s.json"
    path.write_text(
        json.dumps(
            {"base": "basket-run", "population": {"leverage": 2.5}, "mitigations": {"in_kind_only": True}}
        )
    )
    loaded = scenario.load(str(path))
    assert loaded.population.leverage == 2.5
    assert loaded.population.basket_units == 1500
    assert loaded.mitigations.in_kind_only
    assert loaded.shock.run_share == 0.6
    path.write_text(json.dumps({"population": {"leverage": "high"}}))
    with pytest.raises(ValueError, match="invalid scenario"):
        scenario.load(str(path))
    with pytest.raises(ValueError, match="neither a shipped scenario"):
        scenario.load("no-such-thing")


@pytest.mark.slow
def test_validation_relations_over_seeds() -> None:
    """The full relations of docs/stress.md over six seeds: amplification rises with leverage and with
    the share of return chasers, falls with market-maker capital, and the control stays at 1."""
    from market.lab import validation

    results = validation.relations(validation.base(), list(range(1, 7)))
    leverage = [r["amplification"] for r in results["population.leverage"]]
    chasers = [r["amplification"] for r in results["population.chaser_share"]]
    capital = [r["amplification"] for r in results["population.mm_capital_usd"]]
    assert leverage == sorted(leverage)
    assert chasers == sorted(chasers)
    assert capital[0] >= capital[-1]
    assert results["population.leverage"][-1]["amplification_lo"] > 1.0
