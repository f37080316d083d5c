"""The buyer's desk: turn a compute-usage forecast into a hedge across listed forwards and options.

A pure library (no database, no HTTP). ``plan(forecast, market, settings)`` returns a ``HedgePlan``;
``read_forecast`` / ``parse_forecast`` read the usage forecast, ``parse_market`` a market snapshot
(models per product and listed instruments with their asks), ``standard_series`` lists an
exchange-like series priced off a model. Bad input raises ``HedgeInputError`` naming the field.
See docs/hedging.md.
"""

from pricing.hedging.errors import HedgeInputError
from pricing.hedging.forecast import UsageForecast, UsageRow, parse_csv, parse_forecast, read_forecast
from pricing.hedging.listing import standard_series
from pricing.hedging.market import HedgeInstrument, HedgeMarket, build_market, parse_market
from pricing.hedging.optimise import PlanningError
from pricing.hedging.plan import HedgePlan, PlanSettings, plan

__all__ = [
    "HedgeInputError",
    "HedgeInstrument",
    "HedgeMarket",
    "HedgePlan",
    "PlanSettings",
    "PlanningError",
    "UsageForecast",
    "UsageRow",
    "build_market",
    "parse_csv",
    "parse_forecast",
    "parse_market",
    "plan",
    "read_forecast",
    "standard_series",
]
