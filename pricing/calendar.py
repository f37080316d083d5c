"""The one place where exchange dates and instants become pricing times.

Pricing works in year fractions from the valuation instant (ACT/365F). Exchange contracts are
dated: delivery windows of whole UTC hours, expiries a number of business days before delivery.
This module turns those into times and fixing grids, using QuantLib for dates and calendars:

- ``year_fraction``: ACT/365F extended to the second (GPU-hours are priced by the hour, so whole
  days are too coarse); at midnight instants it equals QuantLib's Actual365Fixed exactly.
- ``fixing_times``: one fixing per delivered hour (or day) of a window, at the period's start.
- ``business_days_before``: an expiry n business days before an instant, on a QuantLib calendar.
- ``ql_date`` / ``date_at``: instants and times to QuantLib dates, for the QuantLib engines.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Literal

import QuantLib as ql  # noqa: N813 - the library's own convention

SECONDS_PER_YEAR = 365 * 86_400
CALENDARS = {
    "weekends": ql.WeekendsOnly,
    "us": lambda: ql.UnitedStates(ql.UnitedStates.NYSE),
    "target": ql.TARGET,
    "none": ql.NullCalendar,
}
"""Calendars by name: GPU capacity trades every day, so the exchange default is ``weekends``."""
Frequency = Literal["hourly", "daily"]
_PERIODS = {"hourly": timedelta(hours=1), "daily": timedelta(days=1)}


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got a naive datetime")
    return moment.astimezone(UTC)


def year_fraction(valuation: datetime, moment: datetime) -> float:
    """ACT/365F time from ``valuation`` to ``moment`` in years (negative if ``moment`` is earlier)."""
    return (_utc(moment, "moment") - _utc(valuation, "valuation")).total_seconds() / SECONDS_PER_YEAR


def fixing_times(
    valuation: datetime, start: datetime, end: datetime, frequency: Frequency = "hourly"
) -> tuple[float, ...]:
    """Times of the fixings of the delivery window [start, end): one per period, at its start.

    The window must lie after the valuation instant and hold a whole number of periods.
    """
    start, end, valuation = _utc(start, "start"), _utc(end, "end"), _utc(valuation, "valuation")
    period = _PERIODS[frequency]
    if start < valuation:
        raise ValueError(f"the window starts at {start.isoformat()}, before the valuation instant")
    if end <= start or (end - start) % period:
        window = f"[{start.isoformat()}, {end.isoformat()})"
        raise ValueError(f"the window {window} is not a whole number of {frequency} periods")
    count = (end - start) // period
    return tuple(year_fraction(valuation, start + i * period) for i in range(count))


def ql_date(moment: datetime) -> ql.Date:
    """The QuantLib date of a UTC instant."""
    moment = _utc(moment, "moment")
    return ql.Date(moment.day, moment.month, moment.year)


def business_days_before(moment: datetime, days: int, calendar: str = "weekends") -> datetime:
    """The instant ``days`` business days before ``moment`` on ``calendar``, same time of day.

    With days = 0 it is the latest business day at or before ``moment``.
    """
    moment = _utc(moment, "moment")
    cal = CALENDARS[calendar]()
    date = cal.adjust(ql_date(moment), ql.Preceding)
    if days:
        date = cal.advance(date, -days, ql.Days)
    return moment.replace(year=date.year(), month=date.month(), day=date.dayOfMonth())


def whole_days(t: float) -> int:
    """The number of whole days nearest to ``t`` years (ACT/365F), halves rounded up."""
    return math.floor(t * 365.0 + 0.5)


def date_at(reference: ql.Date, t: float) -> ql.Date:
    """The date ``t`` years (ACT/365F) after ``reference``, to the nearest whole day.

    QuantLib's engines are dated by whole days, so they see times rounded to 1/365 of a year.
    """
    return reference + whole_days(t)
