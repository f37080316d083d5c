"""pricing.price and price_many: method selection, the result contract, batches over processes."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from pricing import RequestError, price, price_many

GBM = {"type": "gbm", "spot": 100.0, "vol": 0.4, "carry": 0.0}
JUMP = {
    "type": "jump_ou",
    "x0": 0.0,
    "kappa": 3.0,
    "vol": 0.5,
    "y0": 0.0,
    "jump_rate": 2.0,
    "jump_mean": 0.2,
    "jump_reversion": 12.0,
    "seasonality": {"mean": 0.7},
}
EUROPEAN = {"type": "european", "kind": "call", "strike": 100.0, "expiry": 0.5}
ARITHMETIC = {
    "type": "asian",
    "kind": "call",
    "strike": 100.0,
    "fixings": {"start": 1 / 12, "end": 1, "count": 12},
}
FAST_MC = {"paths": 4096, "seed": 7}


def test_result_contract() -> None:
    result = price({"model": GBM, "instrument": EUROPEAN, "rate": 0.05})
    assert set(result) == {
        "value",
        "std_error",
        "interval",
        "method",
        "paths",
        "forward",
        "greeks",
        "greeks_std_error",
        "elapsed_ms",
    }
    assert result["method"] == "analytic"
    assert result["std_error"] is None
    assert result["paths"] is None
    assert result["greeks"] is None
    assert result["forward"] == pytest.approx(100.0)
    assert result["elapsed_ms"] > 0.0


@pytest.mark.parametrize(
    ("model", "instrument", "method"),
    [
        (GBM, EUROPEAN, "analytic"),
        (GBM, {**ARITHMETIC, "average": "geometric"}, "analytic"),
        (GBM, ARITHMETIC, "mc"),
        (JUMP, EUROPEAN, "mc"),
        (JUMP, {"type": "forward", "fixings": [0.2, 0.4], "strike": 2.0}, "analytic"),
    ],
)
def test_auto_takes_the_exact_formula_when_there_is_one(model: dict, instrument: dict, method: str) -> None:
    result = price({"model": model, "instrument": instrument, "mc": FAST_MC})
    assert result["method"] == method
    assert (result["std_error"] is None) == (method == "analytic")
    assert result["paths"] == (None if method == "analytic" else 4096)


def test_auto_uses_lsm_for_early_exercise() -> None:
    pytest.importorskip("pricing.lsm")
    result = price(
        {
            "model": GBM,
            "instrument": {"type": "bermudan", "kind": "put", "strike": 100.0, "exercise": [0.25, 0.5]},
            "mc": FAST_MC,
        }
    )
    assert result["method"] == "lsm"
    assert result["std_error"] > 0.0


@pytest.mark.parametrize(
    ("model", "instrument", "remedy"),
    [
        (GBM, ARITHMETIC, 'use "mc" for arithmetic averages'),
        (JUMP, EUROPEAN, 'only forwards are exact (use "mc")'),
        (GBM, {"type": "bermudan", "kind": "put", "strike": 100.0, "exercise": [0.5]}, 'use "auto" for LSM'),
    ],
)
def test_analytic_refused_where_no_formula_exists(model: dict, instrument: dict, remedy: str) -> None:
    with pytest.raises(RequestError) as info:
        price({"model": model, "instrument": instrument, "method": "analytic"})
    assert info.value.path == "method"
    assert remedy in info.value.reason


def test_forward_value_and_window_forward() -> None:
    result = price(
        {
            "model": {**GBM, "carry": 0.1},
            "rate": 0.05,
            "instrument": {"type": "forward", "fixings": [0.5, 1.0], "strike": 101.0, "payment": 1.0},
        }
    )
    import math

    window = (100 * math.exp(0.05) + 100 * math.exp(0.1)) / 2
    assert result["forward"] == pytest.approx(window, rel=1e-14)
    assert result["value"] == pytest.approx(math.exp(-0.05) * (window - 101.0), rel=1e-13)


def test_same_seed_same_value() -> None:
    request = {"model": GBM, "instrument": ARITHMETIC, "mc": FAST_MC}
    assert price(request)["value"] == price(request)["value"]
    other = price({**request, "mc": {**FAST_MC, "seed": 8}})["value"]
    assert other != price(request)["value"]


def _batch() -> list[dict[str, Any]]:
    return [
        {"model": GBM, "instrument": EUROPEAN},
        {"model": GBM, "instrument": ARITHMETIC, "mc": FAST_MC},
        {"model": JUMP, "instrument": EUROPEAN, "mc": FAST_MC, "greeks": True},
    ]


def test_price_many_in_processes_equals_price_in_order() -> None:
    batch = _batch()
    results = price_many(batch, max_workers=2)
    for request, result in zip(batch, results, strict=True):
        alone = price(request)
        assert result["value"] == alone["value"]
        assert result["method"] == alone["method"]
        assert result["greeks"] == alone["greeks"]


def test_price_many_names_the_bad_request_before_starting_workers() -> None:
    batch = _batch()
    batch[1] = {"model": GBM, "instrument": {**EUROPEAN, "strike": "high"}}
    with pytest.raises(RequestError) as info:
        price_many(batch)
    assert info.value.path == "[1].instrument.strike"


def test_price_many_rejects_a_non_list() -> None:
    with pytest.raises(RequestError) as info:
        price_many({"model": GBM})  # type: ignore[arg-type]
    assert info.value.path == "requests"


def test_import_starts_no_process_pool() -> None:
    code = (
        "import sys, pricing; print('concurrent.futures.process' in sys.modules, 'QuantLib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
