"""Deals shared by the securitization tests and benchmark (built as JSON-like dicts, then validated)."""

from __future__ import annotations

import copy
from typing import Any

from pricing.securitization.deal import Deal, parse_deal

HAND_WORKED: dict[str, Any] = {
    "name": "hand-worked",
    "periods": 5,
    "index": {"path": [2.5, 2.5, 0.1, 1.5, 2.5]},
    "providers": [{"name": "p1"}],
    "assets": [
        {
            "provider": "p1",
            "product": "H100",
            "region": "us-east",
            "gpus": 10,
            "opex": 0.5,
            "forwards": [{"gpus": 2, "price": 2.0, "start": 0, "end": 5}],
        }
    ],
    "utilisation": {"mean": 0.8},
    "tranches": [
        {"name": "A", "face": 20000, "coupon": 0.12, "oc_trigger": 1.25},
        {"name": "B", "face": 10000, "coupon": 0.24, "oc_trigger": 1.1},
    ],
    "fees": {"fixed": 100},
    "reserve": {"initial": 200, "target": 500},
    "mc": {"paths": 1},
}
"""The deal of the hand-worked table in docs/securitization.md."""


def three_tranche(paths: int = 2000, periods: int = 36, providers: int = 8) -> dict[str, Any]:
    """A 36-month pool of H100 capacity with three notes, triggers, a reserve and every risk on."""
    names = [f"prov{i}" for i in range(providers)]
    return {
        "name": "three-tranche",
        "periods": periods,
        "index": {
            "model": {
                "type": "schwartz_smith",
                "chi0": 0.1,
                "xi0": 0.75,
                "kappa": 3.0,
                "sigma_chi": 0.6,
                "mu_xi": -0.2,
                "sigma_xi": 0.2,
                "rho": 0.3,
            }
        },
        "providers": [{"name": n, "default_intensity": 0.05, "recovery": 0.3} for n in names],
        "assets": [
            {
                "provider": n,
                "product": "H100",
                "region": "us-east" if i % 2 else "eu-west",
                "gpus": 64,
                "opex": 0.45,
                "forwards": [{"gpus": 24, "price": 2.1, "start": 0, "end": min(12, periods)}],
            }
            for i, n in enumerate(names)
        ],
        "utilisation": {"mean": 0.75, "speed": 3.0, "vol": 0.8},
        "generation": {"rate": 0.4, "size": 0.15},
        "defaults": {"correlation": 0.3},
        "tranches": [
            {"name": "A", "face": 1.6e6, "coupon": 0.07, "oc_trigger": 1.3, "ic_trigger": 1.5},
            {"name": "B", "face": 0.5e6, "coupon": 0.10, "oc_trigger": 1.1},
            {"name": "C", "face": 0.3e6, "coupon": 0.14},
        ],
        "fees": {"fixed": 2000, "rate": 0.005},
        "reserve": {"initial": 20000, "target": 40000},
        "discount": {"rate": 0.045},
        "mc": {"paths": paths, "seed": 11, "fixings_per_period": 4},
    }


def deal_of(data: dict[str, Any], **changes: Any) -> Deal:
    """``data`` with top-level keys replaced, validated."""
    merged = copy.deepcopy(data)
    merged.update(changes)
    return parse_deal(merged)
