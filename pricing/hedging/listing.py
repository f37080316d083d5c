"""A listed-like set of instruments priced off a model, for planning without an exchange at hand.

The exchange lists calendar months, ISO weeks and UTC days (``market.instruments``); ``standard_series``
lists the same windows over a horizon, asks at the model's fair value plus a half-spread, and Asian
caps on each month at chosen strikes (priced by the pricing core). The real-history study and the
CLI's ``--model`` mode use it; against a running exchange, quotes come from its books instead.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from pricing.calendar import fixing_times
from pricing.hedging.market import HedgeInstrument
from pricing.models import Model

DAY = timedelta(days=1)


def windows(start: datetime, end: datetime, kinds: tuple[str, ...] = ("month", "week", "day")) -> list:
    """``(kind, window_start, window_end)`` of every listed window starting in [start, end)."""
    out = []
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    if day < start:
        day += DAY
    while day < end:
        if "day" in kinds:
            out.append(("day", day, day + DAY))
        if "week" in kinds and day.weekday() == 0:
            out.append(("week", day, day + 7 * DAY))
        if "month" in kinds and day.day == 1:
            following = (day.replace(day=28) + 4 * DAY).replace(day=1)
            out.append(("month", day, following))
        day += DAY
    return out


def symbol(product: str, kind: str, start: datetime) -> str:
    """The exchange's symbol of a window: ``H100-2027-01``, ``H100-2027-W05``, ``H100-2027-01-15``."""
    if kind == "month":
        return f"{product}-{start:%Y-%m}"
    if kind == "week":
        year, week, _ = start.isocalendar()
        return f"{product}-{year}-W{week:02d}"
    return f"{product}-{start:%Y-%m-%d}"


def standard_series(
    product: str,
    model: Model,
    model_spec: dict,
    valuation: datetime,
    end: datetime,
    *,
    half_spread: float = 0.005,
    kinds: tuple[str, ...] = ("month", "week", "day"),
    cap_moneyness: tuple[float, ...] = (1.1,),
    cap_paths: int = 8192,
) -> tuple[HedgeInstrument, ...]:
    """Forwards on every window starting in [valuation, end), asked at fair x (1 + half_spread), and
    Asian calls on every month at fair forward x moneyness, asked at their price x (1 + half_spread)."""
    import pricing

    listed = []
    for kind, start, stop in windows(valuation, end, kinds):
        times = np.array(fixing_times(valuation, start, stop, "hourly"))
        fair = float(np.mean(model.forward(times)))
        listed.append(
            HedgeInstrument(
                symbol(product, kind, start),
                product,
                "forward",
                start,
                stop,
                round(fair * (1 + half_spread), 3),
                fair=fair,
            )
        )
        if kind != "month":
            continue
        for moneyness in cap_moneyness:
            strike = round(fair * moneyness, 2)
            premium = pricing.price(
                {
                    "model": model_spec,
                    "instrument": {
                        "type": "asian",
                        "kind": "call",
                        "strike": strike,
                        "average": "arithmetic",
                        "fixings": list(fixing_times(valuation, start, stop, "daily")),
                    },
                    "mc": {"paths": cap_paths, "seed": 0},
                }
            )["value"]
            listed.append(
                HedgeInstrument(
                    f"{symbol(product, kind, start)}-AC{strike:.2f}",
                    product,
                    "asian",
                    start,
                    stop,
                    round(premium * (1 + half_spread) + 1e-4, 4),
                    "call",
                    strike,
                    fair=premium,
                )
            )
    return tuple(listed)
