"""Property-based tests of the pricing request (issue #12): over generated requests,

- a valid request never crashes and never returns NaN: it is priced (finite value, error bar,
  interval around the value, Greeks and their errors) or refused with a request error;
- an invalid request (a field of the wrong type, non-finite, out of range, or unknown) is an
  ``invalid_request`` error naming that field;
- put-call parity holds for every model, instrument and method: C - P = e^(-rT) (E U - K), exactly
  for Monte Carlo too, since calls and puts are simulated on the same bounded side.

Small path counts keep the suite within about 30 seconds.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pricing import NotComputableError, RequestError, price

finite = st.floats(allow_nan=False, allow_infinity=False)


def _times(low: float, high: float, most: int) -> st.SearchStrategy[list[float]]:
    return st.lists(st.floats(low, high), min_size=1, max_size=most, unique=True).map(sorted)


MODELS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "gbm": st.fixed_dictionaries(
        {"type": st.just("gbm"), "spot": st.floats(0.1, 100.0), "vol": st.floats(0.01, 5.0)},
        optional={"carry": st.floats(-0.5, 0.5)},
    ),
    "schwartz1f": st.fixed_dictionaries(
        {
            "type": st.just("schwartz1f"),
            "spot": st.floats(0.1, 100.0),
            "kappa": st.floats(0.01, 1000.0),
            "alpha": st.floats(-2.0, 4.0),
            "vol": st.floats(0.01, 2.0),
        }
    ),
    "schwartz_smith": st.fixed_dictionaries(
        {
            "type": st.just("schwartz_smith"),
            "chi0": st.floats(-1.0, 1.0),
            "xi0": st.floats(-1.0, 2.0),
            "kappa": st.floats(0.1, 50.0),
            "sigma_chi": st.floats(0.01, 2.0),
            "mu_xi": st.floats(-1.0, 1.0),
            "sigma_xi": st.floats(0.0, 1.0),
            "rho": st.floats(-1.0, 1.0),
        }
    ),
    "arithmetic_ou": st.fixed_dictionaries(
        {
            "type": st.just("arithmetic_ou"),
            "x0": st.floats(-2.0, 2.0),
            "kappa": st.floats(0.01, 100.0),
            "vol": st.floats(0.01, 5.0),
            "seasonality": st.fixed_dictionaries({"mean": st.floats(0.0, 5.0)}),
        }
    ),
    "jump_ou": st.fixed_dictionaries(
        {
            "type": st.just("jump_ou"),
            "x0": st.floats(-1.0, 1.0),
            "kappa": st.floats(0.1, 100.0),
            "vol": st.floats(0.01, 2.0),
            "jump_rate": st.floats(0.0, 20.0),
            "jump_mean": st.floats(0.01, 0.95),
            "jump_reversion": st.floats(0.1, 100.0),
            "seasonality": st.fixed_dictionaries({"mean": st.floats(-1.0, 2.0)}),
        }
    ),
}
model_strategy = st.one_of(*MODELS.values())
kinds = st.sampled_from(["call", "put"])
strikes = st.floats(-1.0, 10.0)


@st.composite
def instruments(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["forward", "european", "asian", "cap", "bermudan", "swing"]))
    fixings = draw(_times(0.01, 2.0, 4))
    if kind == "forward":
        return {"type": "forward", "fixings": fixings, "strike": draw(strikes)}
    if kind == "european":
        expiry = draw(st.floats(0.01, 2.0))
        underlying = draw(
            st.sampled_from(
                ["spot", {"forward": expiry + 0.1}, {"swap": [expiry, expiry + 0.05, expiry + 0.1]}]
            )
        )
        return {
            "type": "european",
            "kind": draw(kinds),
            "strike": draw(strikes),
            "expiry": expiry,
            "underlying": underlying,
        }
    if kind == "asian":
        return {"type": "asian", "kind": draw(kinds), "strike": draw(strikes), "fixings": fixings}
    if kind == "cap":
        return {"type": "cap", "kind": draw(kinds), "strike": draw(strikes), "fixings": fixings}
    if kind == "bermudan":
        return {"type": "bermudan", "kind": draw(kinds), "strike": draw(strikes), "exercise": fixings}
    rights = draw(st.integers(1, len(fixings)))
    return {
        "type": "swing",
        "kind": draw(kinds),
        "strike": draw(strikes),
        "exercise": fixings,
        "max_rights": rights,
        "min_rights": draw(st.integers(0, rights)),
        "payoff": draw(st.sampled_from(["forward", "vanilla"])),
    }


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    request = {
        "model": draw(model_strategy),
        "instrument": draw(instruments()),
        "rate": draw(st.floats(-0.1, 0.2)),
        "method": draw(st.sampled_from(["auto", "mc"])),
        "mc": {
            "paths": draw(st.sampled_from([512, 2048])),
            "seed": draw(st.integers(0, 2**31)),
            "sampler": draw(st.sampled_from(["sobol", "pseudo"])),
        },
        "greeks": draw(st.sampled_from([False, False, False, True])),
    }
    if request["model"]["type"] == "arithmetic_ou" and request["instrument"]["type"] == "asian":
        request["instrument"]["average"] = "arithmetic"
    return request


def _numbers(result: dict[str, Any]) -> list[float]:
    numbers = [result["value"], result["forward"]]
    for key in ("std_error", "interval", "greeks", "greeks_std_error"):
        part = result[key]
        if isinstance(part, dict):
            numbers += list(part.values())
        elif isinstance(part, list):
            numbers += part
        elif part is not None:
            numbers.append(part)
    return numbers


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request=requests())
def test_valid_requests_are_priced_or_refused_never_nan(request: dict[str, Any]) -> None:
    refused = None
    try:
        result = price(request)
    except NotComputableError as error:
        refused = error
    if refused is not None:
        assert (refused.code, bool(refused.path), bool(refused.reason)) == ("not_computable", True, True)
        return
    assert all(math.isfinite(x) for x in _numbers(result)), result
    if result["interval"] is not None:
        low, high = result["interval"]
        assert low <= result["value"] <= high
        assert result["std_error"] >= 0.0


MUTATIONS: list[tuple[str, Any]] = [
    ("a string", "1.0"),
    ("a boolean", True),
    ("null", None),
    ("a list", [1.0]),
    ("NaN", math.nan),
    ("infinity", math.inf),
    ("huge", 1e300),
    ("negative", -1e6),
]


def _leaves(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(data, dict):
        return [leaf for key, value in data.items() for leaf in _leaves(value, (*path, key))]
    return [path]


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


@settings(max_examples=80, deadline=None)
@given(request=requests(), choice=st.data())
def test_invalid_fields_are_request_errors_naming_the_field(
    request: dict[str, Any], choice: st.DataObject
) -> None:
    numeric = [
        leaf
        for leaf in _leaves(request)
        if isinstance(_get(request, leaf), int | float) and not isinstance(_get(request, leaf), bool)
    ]
    leaf = choice.draw(st.sampled_from(numeric))
    name, value = choice.draw(st.sampled_from(MUTATIONS))
    original = _get(request, leaf)
    _set(request, leaf, value)
    if name in ("negative", "huge") and _accepts(request):
        return  # some fields take any sign or size (a strike, a log level): nothing to refuse
    with pytest.raises(RequestError) as caught:
        price(request)  # refused while parsing: nothing is priced
    assert not isinstance(caught.value, NotComputableError) or name in ("negative", "huge"), (leaf, name)
    named = ".".join(str(k) for k in leaf)
    parent = ".".join(str(k) for k in leaf[:-1])
    assert caught.value.path.startswith(named) or (parent and caught.value.path.startswith(parent)), (
        caught.value.path,
        named,
        original,
    )


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


def _accepts(request: dict[str, Any]) -> bool:
    try:
        from pricing.request import parse_request

        parse_request(request)
    except RequestError:
        return False
    return True


@settings(max_examples=40, deadline=None)
@given(
    model=model_strategy,
    kind=st.sampled_from(["european", "asian", "cap"]),
    strike=st.floats(0.1, 10.0),
    rate=st.floats(-0.1, 0.2),
    method=st.sampled_from(["auto", "mc"]),
    seed=st.integers(0, 2**31),
)
def test_put_call_parity(
    model: dict[str, Any], kind: str, strike: float, rate: float, method: str, seed: int
) -> None:
    """C - P = e^(-rT) (E U - K) with E U the instrument's forward, for every model and method."""
    if kind == "european":
        instrument: dict[str, Any] = {"type": "european", "strike": strike, "expiry": 0.5}
        legs = [[0.5]]
    else:
        instrument = {"type": kind, "strike": strike, "fixings": [0.25, 0.5, 0.75]}
        legs = [[0.25, 0.5, 0.75]] if kind == "asian" else [[0.25], [0.5], [0.75]]
    request = {"model": model, "rate": rate, "method": method, "mc": {"paths": 1024, "seed": seed}}
    try:
        call = price({**request, "instrument": {**instrument, "kind": "call"}})
        put = price({**request, "instrument": {**instrument, "kind": "put"}})
    except NotComputableError:
        return
    # e^(-rT) (E U - K): the forward on the same dates (a cap: the mean of one-date forwards)
    forwards = [
        price(
            {
                "model": model,
                "rate": rate,
                "instrument": {"type": "forward", "fixings": leg, "strike": strike},
            }
        )
        for leg in legs
    ]
    expected = sum(f["value"] for f in forwards) / len(forwards)
    scale = max(abs(call["value"]), abs(put["value"]), abs(expected), 1.0)
    assert call["value"] - put["value"] == pytest.approx(expected, abs=1e-9 * scale), (call, put)
