"""The market model behind marks and margins: selection stored per product, a robust index, a term
structure from the model and the traded forwards, the fallback, and quotes that name their model."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from market.index import filtered
from market.records import OrderRequest
from pricing.models import Schwartz1F
from pricing.synthetic import generate
from tests.market.conftest import START, Market

DECEMBER, JANUARY = "A100-2026-12", "A100-2027-01"


def _ingest(market: Market, days: int, *, kappa: float = 100.0, seed: int = 1) -> None:
    """``days`` of hourly schwartz1f fixings of A100 ending at the clock (mean 2.5, half-life 2.5 days)."""
    vol = 0.15 * math.sqrt(2 * kappa)
    series = generate(
        Schwartz1F(spot=2.0, kappa=kappa, alpha=math.log(2.5), vol=vol),
        start=market.clock.now - timedelta(hours=days * 24 - 1),
        periods=days * 24,
        seed=seed,
    )
    fixings = [(t.to_pydatetime(), round(p * 1e6)) for t, p in series.items()]
    market.exchange.add_fixings("A100", fixings, "test")


def test_the_running_median_ignores_one_print() -> None:
    prints = [(i, p) for i, p in enumerate([2_500_000, 2_510_000, 2_490_000, 2_505_000, 3_100_000])]
    assert [p for _, p in filtered(prints)] == [2_500_000, 2_500_000, 2_500_000, 2_500_000, 2_505_000]


def test_an_outlying_fixing_does_not_move_a_far_forward(market: Market) -> None:
    """The fallback rule on the filtered index: one print of 3.10 after a flat 2.547 moves nothing."""
    ex = market.exchange
    ex.add_fixings("A100", [(START - timedelta(hours=k), 2_547_000) for k in range(20, 0, -1)], "test")
    before = ex.mark(JANUARY)
    ex.add_fixings("A100", [(START, 3_100_000)], "test")
    after = ex.mark(JANUARY)
    assert before.fair_value_micros == after.fair_value_micros == 2_547_000
    assert (after.model_name, after.model_source, after.calibrated_at) == ("gbm", "fallback", None)
    assert ex.product_model("A100").reason == "no model refresh has run for this product yet"


def test_too_little_history_falls_back_and_says_why(market: Market) -> None:
    _ingest(market, 5)
    (written,) = [m for m in market.exchange.refresh_models() if m.product == "A100"]
    assert (written.source, written.model) == ("fallback", "gbm")
    assert "5.0 days of index history; model selection needs 9" in written.reason
    assert market.exchange.mark(DECEMBER).model_source == "fallback"
    assert market.exchange.refresh_models() == []  # no new fixing: nothing to redo


def test_the_selected_model_prices_marks_with_a_curve_and_the_trades(market: Market) -> None:
    ex, clock = market.exchange, market.clock
    clock.advance(days=6)  # 2026-11-30 12:00: December's window starts in 12 hours
    _ingest(market, 12)
    (chosen,) = ex.refresh_models(candidates=["schwartz1f", "gbm"])
    assert chosen.source == "selected"
    assert chosen.model in {"schwartz1f", "gbm"}
    assert {c["model"] for c in chosen.ranking} == {"schwartz1f", "gbm"}
    assert chosen.score["n"] == chosen.settings["origins"] > 0
    assert chosen.calibrated_at == START + timedelta(days=6)  # the last fixing the fit saw
    assert chosen.settings["horizons"] == ["1d"]  # 12 days: no 7-day horizon yet
    assert ex.product_model("A100") == chosen

    (forced,) = ex.refresh_models(candidates=["schwartz1f"], force=True)
    december, january = ex.mark(DECEMBER), ex.mark(JANUARY)
    assert (january.model_name, january.model_source) == ("schwartz1f", "selected")
    assert january.calibrated_at == forced.calibrated_at
    kappa, alpha = forced.params["kappa"], forced.params["alpha"]
    assert (january.model["kappa"], january.model["alpha"]) == (kappa, alpha)  # only the state moved
    assert january.model["spot"] == pytest.approx(filtered(ex_fixings(ex))[-1][1] / 1e6)
    assert december.fair_value_micros != january.fair_value_micros  # mean reversion: not a flat curve
    long_run = math.exp(alpha + january.model["vol"] ** 2 / (4 * kappa))
    assert abs(january.fair_value_micros / 1e6 - long_run) < abs(december.fair_value_micros / 1e6 - long_run)

    # a trade in January moves the curve's level to it; December follows through the shared alpha
    assert ex.refresh_marks()[JANUARY] > 0
    ex.place_order(market.seller, OrderRequest(JANUARY, "sell", 2, price_ticks=3_000))
    ex.place_order(market.buyer, OrderRequest(JANUARY, "buy", 2, price_ticks=3_000))
    assert ex.mark(JANUARY).fair_value_micros == january.fair_value_micros  # a mark as of T: trades before T
    clock.advance(seconds=1)
    traded = ex.mark(JANUARY)
    assert traded.fair_value_micros == pytest.approx(3_000_000, abs=2)
    assert traded.model["alpha"] > alpha
    assert ex.mark(DECEMBER).fair_value_micros > december.fair_value_micros
    clock.advance(hours=1)
    ex.add_fixings("A100", [(clock.now, 2_500_000)], "test")  # a newer index supersedes the trade
    assert ex.mark(JANUARY).model["alpha"] == alpha

    margins = ex.refresh_marks()
    assert margins[JANUARY] > 0
    assert margins[DECEMBER] > 0


def ex_fixings(ex) -> list[tuple[int, int]]:
    return [(round(f.at.timestamp() * 1e6), f.price_micros) for f in ex.fixings("A100", limit=1000)][-5:]


def test_a_calibration_later_than_the_valuation_instant_is_not_used(market: Market, db_engine) -> None:
    """Settlement prices European exercises as of their expiry, however late: no look-ahead."""
    from market import marks

    market.clock.advance(days=6)
    _ingest(market, 12)
    market.exchange.refresh_models(candidates=["schwartz1f"])
    with db_engine.connect() as connection:
        earlier = marks.model(connection, "A100", round((START + timedelta(days=5)).timestamp() * 1e6))
    assert earlier.source == "fallback"
    assert earlier.reason == "the stored calibration is later than the valuation instant"
