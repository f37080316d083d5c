"""Deal validation: bad input is refused with the field's path and a reason, as pricing requests are."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from pricing import RequestError
from pricing.securitization.deal import DealError, decode_deal, parse_deal
from tests.pricing.securitization.deals import HAND_WORKED, three_tranche


def error_of(data: Any) -> DealError:
    with pytest.raises(DealError) as info:
        parse_deal(data)
    return info.value


def changed(path: list[Any], value: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    data = copy.deepcopy(base or HAND_WORKED)
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


def test_valid_deals_parse_with_defaults() -> None:
    deal = parse_deal(copy.deepcopy(HAND_WORKED))
    assert deal.model is None
    assert deal.spec.principal == "sequential"
    assert deal.spec.amortisation == "linear"
    assert deal.dt == pytest.approx(1 / 12)
    assert deal.hours == 730.0
    modelled = decode_deal(json.dumps(three_tranche()))
    assert type(modelled.model).__name__ == "SchwartzSmith"


@pytest.mark.parametrize(
    ("path", "value", "where", "words"),
    [
        (["tranches", 1, "coupon"], "0.1", "tranches[1].coupon", "Expected `float`, got `str`"),
        (["tranches", 0, "face"], -5, "tranches[0].face", "> 0"),
        (["tranches", 0, "face"], True, "tranches[0].face", "got `bool`"),
        (["tranches", 0, "name"], KeyError, "tranches[0].name", "is required"),
        (["tranches", 0, "colour"], "red", "tranches[0].colour", "unknown key"),
        (["assets", 0, "gpus"], 2.5, "assets[0].gpus", "Expected"),
        (["assets", 0, "forwards", 0, "end"], 9, "assets[0].forwards[0].end", "at most 5"),
        (["assets", 0, "forwards", 0, "gpus"], 11, "assets[0].forwards[0].gpus", "above the 10 installed"),
        (["assets", 0, "gpus"], [10, 10], "assets[0].gpus", "one count per period (5)"),
        (["assets", 0, "provider"], "nobody", "assets[0].provider", "names no provider"),
        (["index", "path"], [1.0, 2.0], "index.path", "one price per period"),
        (["index"], {}, "index", "exactly one of"),
        (["index"], {"model": {"type": "gbm", "spot": 2.0, "vol": -1}}, "index.model.vol", "positive"),
        (["utilisation", "mean"], 1.5, "utilisation.mean", "<= 1.0"),
        (["defaults"], {"correlation": 1.0}, "defaults.correlation", "< 1.0"),
        (["principal"], "random", "principal", "Invalid enum value"),
        (["quotes"], {"Z": 99.0}, "quotes.Z", "names no tranche"),
        (["discount"], {"curve": [[1.0, 0.04], [0.5, 0.05]]}, "discount.curve[1]", "increasing"),
        (["periods"], 0, "periods", ">= 1"),
        (["reserve"], {"initial": 900, "target": 500}, "reserve.initial", "must not exceed"),
    ],
)
def test_bad_fields_are_named(path: list[Any], value: Any, where: str, words: str) -> None:
    error = error_of(changed(path, value))
    assert error.path == where, str(error)
    assert words in error.reason, str(error)
    assert isinstance(error, RequestError)
    assert str(error) == f"{where}: {error.reason}"


def test_duplicate_names_and_bad_json_are_refused() -> None:
    data = changed(["tranches", 1, "name"], "A")
    assert error_of(data).path == "tranches[1].name"
    with pytest.raises(DealError) as info:
        decode_deal(b'{"periods": 3,')
    assert info.value.path == "deal"
    assert "not valid JSON" in info.value.reason
    assert error_of([1, 2]).path == "deal"
    assert error_of(changed(["mc", "paths"], float("nan"))).path == "mc.paths"
