"""Validation of JSON pricing requests: every rule names its field and says what would work."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pricing import RequestError, price
from pricing.instruments import Asian, SwapUnderlying
from pricing.models import GBM, JumpOU, SchwartzSmith
from pricing.request import parse_fixings, parse_request

GBM_MODEL = {"type": "gbm", "spot": 2.0, "vol": 0.4, "carry": 0.0}
CALL = {"type": "european", "kind": "call", "strike": 2.0, "expiry": 0.5}


def request(**changes: Any) -> dict[str, Any]:
    base = {"model": dict(GBM_MODEL), "instrument": dict(CALL), "rate": 0.03}
    base.update(changes)
    return base


def rejected(data: Any) -> RequestError:
    with pytest.raises(RequestError) as info:
        parse_request(data)
    return info.value


def test_valid_request_builds_domain_objects() -> None:
    parsed = parse_request(
        request(
            model={
                "type": "schwartz_smith",
                "chi0": 0.1,
                "xi0": 0.7,
                "kappa": 2.0,
                "sigma_chi": 0.5,
                "mu_xi": -0.2,
                "sigma_xi": 0.2,
                "rho": -0.3,
            },
            instrument={
                "type": "european",
                "kind": "put",
                "strike": 2.0,
                "expiry": 0.25,
                "underlying": {"swap": {"start": 0.25, "end": 0.5, "count": 3}},
            },
            mc={"paths": 1000, "sampler": "pseudo"},
        )
    )
    assert parsed.model == SchwartzSmith(0.1, 0.7, 2.0, 0.5, -0.2, 0.2, -0.3, 0.0)
    assert parsed.instrument.underlying == SwapUnderlying((0.25, 0.375, 0.5))
    assert parsed.mc.paths == 1000
    assert parsed.mc.sampler == "pseudo"
    assert parsed.method == "auto"
    assert parsed.greeks is False


def test_error_string_is_path_then_reason() -> None:
    error = rejected(request(instrument={**CALL, "strike": "2"}))
    assert error.path == "instrument.strike"
    assert str(error) == "instrument.strike: must be a number, got a string"
    assert isinstance(error, ValueError)


@pytest.mark.parametrize(
    ("changes", "path", "reason"),
    [
        ({"model": {**GBM_MODEL, "vol": 0.0}}, "model.vol", "must be positive"),
        ({"model": {**GBM_MODEL, "vol": -0.1}}, "model.vol", "must be positive"),
        ({"model": {**GBM_MODEL, "vol": 7.0}}, "model.vol", "must be positive and at most 5, got 7"),
        ({"model": {**GBM_MODEL, "spot": math.nan}}, "model.spot", "finite"),
        ({"model": {**GBM_MODEL, "spot": math.inf}}, "model.spot", "finite"),
        ({"model": {**GBM_MODEL, "spot": True}}, "model.spot", "must be a number"),
        ({"model": {**GBM_MODEL, "volatility": 0.2}}, "model.volatility", "unknown key"),
        ({"model": {"type": "heston"}}, "model.type", '"gbm"'),
        ({"instrument": {**CALL, "expiry": -1.0}}, "instrument.expiry", "must be positive"),
        ({"instrument": {**CALL, "kind": "straddle"}}, "instrument.kind", '"call", "put"'),
        (
            {"instrument": {**CALL, "underlying": {"forward": 0.25}}},
            "instrument.underlying.forward",
            "must not precede the expiry",
        ),
        (
            {"instrument": {**CALL, "underlying": {"swap": [0.1, 0.6]}}},
            "instrument.underlying.swap",
            "at or after the expiry",
        ),
        ({"rate": 2.0}, "rate", "between -1 and 1"),
        ({"method": "fourier"}, "method", '"analytic"'),
        ({"mc": {"paths": 0}}, "mc.paths", "between 2"),
        ({"mc": {"paths": 10.5}}, "mc.paths", "whole number"),
        ({"mc": {"sampler": "halton"}}, "mc.sampler", '"sobol"'),
        ({"greeks": "yes"}, "greeks", "true or false"),
        ({"extra": 1}, "extra", "unknown key"),
    ],
)
def test_rule_names_field_and_remedy(changes: dict[str, Any], path: str, reason: str) -> None:
    error = rejected(request(**changes))
    assert error.path == path
    assert reason in error.reason


@pytest.mark.parametrize(
    ("model", "path"),
    [
        (
            {
                "type": "schwartz_smith",
                "chi0": 0,
                "xi0": 0,
                "kappa": 1,
                "sigma_chi": 0.3,
                "mu_xi": 0,
                "sigma_xi": 0.2,
                "rho": 1.5,
            },
            "model.rho",
        ),
        ({"type": "schwartz1f", "spot": 1, "kappa": 0, "alpha": 0, "vol": 0.3}, "model.kappa"),
        (
            {
                "type": "arithmetic_ou",
                "x0": 0,
                "kappa": 1,
                "vol": 0.3,
                "seasonality": {"terms": [{"amplitude": 1, "period": 0}]},
            },
            "model.seasonality.terms[0].period",
        ),
        (
            {
                "type": "jump_ou",
                "x0": 0,
                "kappa": 1,
                "vol": 0.3,
                "y0": 0,
                "jump_rate": 2,
                "jump_mean": 1.5,
                "jump_reversion": 10,
            },
            "model.jump_mean",
        ),
    ],
)
def test_model_rules(model: dict[str, Any], path: str) -> None:
    assert rejected(request(model=model)).path == path


def test_jump_ou_and_seasonality_parse() -> None:
    parsed = parse_request(
        request(
            model={
                "type": "jump_ou",
                "x0": 0.1,
                "kappa": 5,
                "vol": 0.4,
                "y0": 0.0,
                "jump_rate": 3,
                "jump_mean": 0.2,
                "jump_reversion": 20,
                "seasonality": {"mean": 0.7, "terms": [{"amplitude": 0.1, "period": 1}]},
            }
        )
    )
    assert isinstance(parsed.model, JumpOU)
    assert parsed.model.seasonality.terms[0].phase == 0.0


@pytest.mark.parametrize(
    ("fixings", "path", "reason"),
    [
        ([0.2, 0.1], "f[1]", "strictly increasing"),
        ([0.1, 0.1], "f[1]", "strictly increasing"),
        ([-0.1, 0.1], "f[0]", "between 0"),
        ([], "f", "at least one"),
        ({"start": 0.5, "end": 0.2, "count": 3}, "f.end", "after start"),
        ({"start": 0.1, "end": 0.2, "count": 0}, "f.count", "between 1"),
        ({"start": 0.1, "end": 0.2}, "f.count", "required"),
        ("monthly", "f", "list of times"),
    ],
)
def test_fixing_rules(fixings: Any, path: str, reason: str) -> None:
    with pytest.raises(RequestError) as info:
        parse_fixings(fixings, "f")
    assert info.value.path == path
    assert reason in info.value.reason


def test_compact_fixings() -> None:
    assert parse_fixings({"start": 0.0, "end": 1.0, "count": 5}, "f") == (0.0, 0.25, 0.5, 0.75, 1.0)
    assert parse_fixings({"start": 0.3, "end": 1.0, "count": 1}, "f") == (1.0,)


def test_instrument_defaults() -> None:
    asian = parse_request(
        request(instrument={"type": "asian", "kind": "call", "strike": 2, "fixings": [0.1, 0.2]})
    ).instrument
    assert asian == Asian("call", 2.0, (0.1, 0.2), "arithmetic", 0.2)
    forward = parse_request(request(instrument={"type": "forward", "fixings": [0.5]})).instrument
    assert (forward.strike, forward.payment) == (0.0, 0.5)


@pytest.mark.parametrize(
    ("instrument", "path", "reason"),
    [
        (
            {"type": "asian", "kind": "call", "strike": 2, "fixings": [0.1, 0.2], "payment": 0.15},
            "instrument.payment",
            "must not precede the last fixing",
        ),
        (
            {"type": "bermudan", "kind": "put", "strike": 2, "exercise": [0.0, 0.5]},
            "instrument.exercise",
            "after the valuation instant",
        ),
        (
            {"type": "swing", "kind": "call", "strike": 2, "exercise": [0.1, 0.2], "max_rights": 3},
            "instrument.max_rights",
            "between 1 and 2",
        ),
        (
            {
                "type": "swing",
                "kind": "call",
                "strike": 2,
                "exercise": [0.1, 0.2],
                "max_rights": 1,
                "min_rights": 2,
            },
            "instrument.min_rights",
            "between 0 and 1",
        ),
        ({"type": "cap", "kind": "call", "strike": 2}, "instrument.fixings", "required"),
    ],
)
def test_instrument_rules(instrument: dict[str, Any], path: str, reason: str) -> None:
    error = rejected(request(instrument=instrument))
    assert error.path == path
    assert reason in error.reason


def test_geometric_average_needs_positive_prices() -> None:
    error = rejected(
        request(
            model={"type": "arithmetic_ou", "x0": 0, "kappa": 1, "vol": 0.3},
            instrument={
                "type": "asian",
                "kind": "call",
                "strike": 0,
                "fixings": [0.5],
                "average": "geometric",
            },
        )
    )
    assert error.path == "instrument.average"
    assert '"arithmetic"' in error.reason


def test_top_level_must_be_an_object() -> None:
    assert rejected([1, 2]).path == "request"


# --- property tests ---------------------------------------------------------------------------

ANALYTIC_REQUESTS = [
    request(),
    request(instrument={"type": "forward", "fixings": {"start": 0.1, "end": 0.4, "count": 4}, "strike": 1.5}),
    request(instrument={"type": "cap", "kind": "put", "strike": 2.1, "fixings": [0.1, 0.3]}),
    request(
        instrument={
            "type": "asian",
            "kind": "call",
            "strike": 1.9,
            "fixings": [0.2, 0.4],
            "average": "geometric",
        }
    ),
    request(
        model={
            "type": "arithmetic_ou",
            "x0": 0.2,
            "kappa": 3,
            "vol": 0.8,
            "seasonality": {"mean": 2, "trend": -0.1, "terms": [{"amplitude": 0.2, "period": 1}]},
        },
        instrument={"type": "asian", "kind": "put", "strike": 2, "fixings": [0.2, 0.4]},
    ),
    request(
        model={
            "type": "schwartz_smith",
            "chi0": 0.1,
            "xi0": 0.7,
            "kappa": 2.0,
            "sigma_chi": 0.5,
            "mu_xi": -0.2,
            "sigma_xi": 0.2,
            "rho": -0.3,
        },
        instrument={
            "type": "european",
            "kind": "call",
            "strike": 2.0,
            "expiry": 0.25,
            "underlying": {"swap": [0.3, 0.4, 0.5]},
        },
    ),
    request(
        model={
            "type": "jump_ou",
            "x0": 0.1,
            "kappa": 5,
            "vol": 0.4,
            "y0": 0.1,
            "jump_rate": 3,
            "jump_mean": 0.2,
            "jump_reversion": 20,
        },
        instrument={"type": "forward", "fixings": [0.2, 0.4]},
    ),
]

NASTY = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
    st.lists(st.floats(min_value=-1, max_value=60), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _leaves(data: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(data, dict):
        return [p for k, v in data.items() for p in _leaves(v, (*path, k))]
    if isinstance(data, list) and data:
        return [p for i, v in enumerate(data) for p in _leaves(v, (*path, i))]
    return [path]


def _set(data: Any, path: tuple, value: Any) -> None:
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


def _dotted(path: tuple) -> str:
    text = ""
    for key in path:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from(ANALYTIC_REQUESTS), data=st.data(), value=NASTY)
def test_mutated_request_is_priced_finite_or_rejected_with_its_field(
    base: dict, data: Any, value: Any
) -> None:
    """Replace one leaf by an arbitrary value: either the request still prices to finite numbers, or
    the error names that field (or its parent object, for a missing or unknown key)."""
    mutated = copy.deepcopy(base)
    leaf = data.draw(st.sampled_from(_leaves(base)))
    _set(mutated, leaf, value)
    error = None
    try:
        result = price(mutated)
    except RequestError as caught:
        error = caught
    if error is None:
        assert math.isfinite(result["value"])
        assert math.isfinite(result["forward"])
    else:
        named = [_dotted(leaf)] + ([_dotted(leaf[:-1])] if len(leaf) > 1 else [])
        assert any(error.path.startswith(p) for p in named), (error.path, named)
        assert error.reason


@settings(max_examples=150, deadline=None)
@given(
    spot=st.floats(1e-6, 1e9),
    vol=st.floats(1e-6, 5.0),
    carry=st.floats(-1, 1),
    rate=st.floats(-1, 1),
    strike=st.floats(-1e9, 1e9),
    expiry=st.floats(1e-6, 50.0),
    kind=st.sampled_from(["call", "put"]),
)
def test_accepted_extremes_never_give_nan(
    spot: float, vol: float, carry: float, rate: float, strike: float, expiry: float, kind: str
) -> None:
    result = price(
        {
            "model": {"type": "gbm", "spot": spot, "vol": vol, "carry": carry},
            "instrument": {"type": "european", "kind": kind, "strike": strike, "expiry": expiry},
            "rate": rate,
            "greeks": True,
        }
    )
    assert math.isfinite(result["value"])
    assert result["value"] >= 0.0
    assert all(math.isfinite(g) for g in result["greeks"].values())


def test_gbm_model_object() -> None:
    assert parse_request(request()).model == GBM(2.0, 0.4, 0.0)
