"""Bad forecasts, snapshots and settings are refused with an error naming the field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pricing.hedging import (
    HedgeInputError,
    HedgeInstrument,
    PlanSettings,
    build_market,
    parse_csv,
    parse_forecast,
    parse_market,
    plan,
)
from pricing.request import parse_model

VALUATION = datetime(2027, 1, 1, tzinfo=UTC)
GBM = {"type": "gbm", "spot": 2.4, "vol": 0.6}


def _rows(**row: object) -> dict:
    return {"resolution": "hour", "usage": [{"product": "H100", "start": "2027-01-02T00:00:00Z", **row}]}


def _refused(path: str, data: object, words: str) -> None:
    with pytest.raises(HedgeInputError) as caught:
        parse_forecast(data)
    assert caught.value.path == path
    assert words in caught.value.reason


def test_negative_usage_names_the_row() -> None:
    _refused("forecast[0].usage", _rows(usage=-1), "negative")
    _refused("forecast[0].scenarios[1]", _rows(scenarios=[3, -2]), "negative")


def test_quantiles_out_of_order() -> None:
    _refused("forecast[0].quantiles.0.9", _rows(quantiles={"0.1": 50, "0.5": 64, "0.9": 60}), "out of order")
    _refused("forecast[0].quantiles.1.5", _rows(quantiles={"0.5": 1, "1.5": 2}), "between 0 and 1")


def test_malformed_rows() -> None:
    _refused("forecast[0].usage", _rows(usage="64"), "number")
    _refused("forecast[0].usage", _rows(usage=float("nan")), "finite")
    _refused(
        "forecast[0].start",
        {"usage": [{"product": "H100", "start": "2027-01-02T00:30:00Z", "usage": 1}]},
        "whole UTC hour",
    )
    _refused(
        "forecast[0].start", {"usage": [{"product": "H100", "start": "2027-01-02", "usage": 1}]}, "UTC offset"
    )
    _refused("forecast[0]", _rows(usage=1, scenarios=[1]), "exactly one")
    _refused("forecast[0].gpus", _rows(usage=1, gpus=3), "not a known key")
    doubled = {"usage": [{"product": "H100", "start": "2027-01-02T00:00:00Z", "usage": 1}] * 2}
    _refused("forecast[1]", doubled, "already given")
    _refused("forecast.resolution", {"resolution": "week", "usage": []}, '"hour" or "day"')


def _market(*instruments: HedgeInstrument):
    return build_market(VALUATION, {"H100": parse_model(GBM, "m")}, instruments)


def test_windows_in_the_past_and_unknown_products() -> None:
    past = parse_forecast({"usage": [{"product": "H100", "start": "2026-12-31T23:00:00Z", "usage": 8}]})
    with pytest.raises(HedgeInputError) as caught:
        plan(past, _market())
    assert caught.value.path == "forecast[0].start"
    assert "before the valuation time" in caught.value.reason
    unknown = parse_forecast({"usage": [{"product": "Z9", "start": "2027-01-02T00:00:00Z", "usage": 8}]})
    with pytest.raises(HedgeInputError) as caught:
        plan(unknown, _market())
    assert caught.value.path == "forecast[0].product"
    assert "unknown product 'Z9'" in caught.value.reason


def test_snapshot_errors_name_the_instrument_field() -> None:
    base = {
        "symbol": "H100-2027-01-02",
        "product": "H100",
        "kind": "forward",
        "start": "2027-01-02T00:00:00Z",
        "end": "2027-01-03T00:00:00Z",
        "ask": 2.4,
    }
    snapshot = {"valuation": "2027-01-01T00:00:00Z", "models": {"H100": GBM}, "instruments": [base]}
    assert parse_market(snapshot).instruments[0].hours == 24
    cases = [
        ({**base, "product": "Z9"}, "market.instruments[0].product", "unknown product"),
        ({**base, "start": "2026-12-31T00:00:00Z"}, "market.instruments[0].start", "before the valuation"),
        ({**base, "end": "2027-01-02T00:00:00Z"}, "market.instruments[0].end", "after start"),
        ({**base, "kind": "swap"}, "market.instruments[0].kind", "one of"),
        ({**base, "kind": "asian"}, "market.instruments[0].option_kind", "required"),
        (
            {
                **base,
                "kind": "european",
                "option_kind": "call",
                "strike": 2.5,
                "expiry": "2027-01-05T00:00:00Z",
            },
            "market.instruments[0].expiry",
            "expires before delivery",
        ),
        ({**base, "ask": True}, "market.instruments[0].ask", "number"),
    ]
    for instrument, path, words in cases:
        with pytest.raises(HedgeInputError) as caught:
            parse_market({**snapshot, "instruments": [instrument]})
        assert (caught.value.path, words in caught.value.reason) == (path, True), instrument
    with pytest.raises(HedgeInputError) as caught:
        parse_market({**snapshot, "models": {"H100": {"type": "gbm", "spot": -1, "vol": 0.5}}})
    assert caught.value.path == "market.models.H100.spot"


def test_settings_are_checked() -> None:
    for field, value in (("objective", "mad"), ("alpha", 1.0), ("budget", -5.0), ("scenarios", 10)):
        with pytest.raises(HedgeInputError) as caught:
            PlanSettings(**{field: value})
        assert caught.value.path == field


def test_csv_forms_agree_with_json() -> None:
    point = parse_csv("product,start,usage\nH100,2027-01-02T00:00:00Z,1536\nH100,2027-01-03T00:00:00Z,1500\n")
    assert point.resolution == "day"
    assert point.form == "point"
    assert [r.values for r in point.rows] == [(1536.0,), (1500.0,)]
    quantiles = parse_csv("product,start,q10,q50,q90\nH100,2027-01-02T05:00:00Z,60,64,80\n")
    assert quantiles.resolution == "hour"
    assert quantiles.levels == (0.1, 0.5, 0.9)
    scenarios = parse_csv(
        "product,start,scenario,usage\nH100,2027-01-02T00:00:00Z,a,1\nH100,2027-01-02T00:00:00Z,b,3\n", "hour"
    )
    assert scenarios.rows[0].values == (1.0, 3.0)
    with pytest.raises(HedgeInputError) as caught:
        parse_csv("product,start,usage\nH100,2027-01-02T00:00:00Z,-4\n")
    assert caught.value.path == "forecast.csv line 2.usage"
    with pytest.raises(HedgeInputError) as caught:
        parse_csv("product,start,q90,q10\nH100,2027-01-02T00:00:00Z,10,20\n")
    assert "out of order" in caught.value.reason
    with pytest.raises(HedgeInputError) as caught:
        parse_csv("product,when,usage\n")
    assert caught.value.path == "forecast.csv header"


def test_quantile_scenarios_hold_their_quantiles() -> None:
    """Usage drawn from quantiles reproduces them (linear interpolation between the levels)."""
    import numpy as np

    forecast = parse_forecast(_rows(quantiles={"0.1": 40, "0.5": 64, "0.9": 100}))
    hours = [datetime(2027, 1, 2, tzinfo=UTC)]
    draws = forecast.hourly(hours, 40_000, np.random.default_rng(1))["H100"][0]
    assert np.quantile(draws, [0.1, 0.3, 0.5, 0.9]) == pytest.approx([40, 52, 64, 100], abs=0.6)
    assert forecast.mean_hourly(hours)["H100"][0] == pytest.approx(draws.mean(), abs=0.3)
