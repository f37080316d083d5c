"""Exchange dates to pricing times: ACT/365F, delivery-window fixing grids, business-day expiries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import QuantLib as ql  # noqa: N813 - the library's own convention

from pricing.calendar import business_days_before, date_at, fixing_times, ql_date, whole_days, year_fraction

NOW = datetime(2027, 1, 1, tzinfo=UTC)


def test_year_fraction_matches_quantlib_act365f_at_midnight() -> None:
    end = datetime(2028, 3, 1, tzinfo=UTC)
    expected = ql.Actual365Fixed().yearFraction(ql_date(NOW), ql_date(end))
    assert year_fraction(NOW, end) == pytest.approx(expected, abs=1e-15)


def test_year_fraction_counts_hours_and_converts_zones() -> None:
    assert year_fraction(NOW, NOW + timedelta(hours=1)) == pytest.approx(1 / 8760, rel=1e-15)
    plus_two = timezone(timedelta(hours=2))
    assert year_fraction(NOW, datetime(2027, 1, 1, 2, tzinfo=plus_two)) == 0.0


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        year_fraction(NOW, datetime(2027, 2, 1))


def test_hourly_fixings_of_a_day_window() -> None:
    start = datetime(2027, 1, 15, tzinfo=UTC)
    times = fixing_times(NOW, start, start + timedelta(days=1))
    assert len(times) == 24
    assert times[0] == pytest.approx(14 / 365, rel=1e-15)
    assert times[-1] - times[0] == pytest.approx(23 / 8760, rel=1e-12)


def test_daily_fixings_of_a_month_window() -> None:
    times = fixing_times(NOW, datetime(2027, 2, 1, tzinfo=UTC), datetime(2027, 3, 1, tzinfo=UTC), "daily")
    assert len(times) == 28
    assert times[0] == pytest.approx(31 / 365)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (datetime(2026, 12, 31, tzinfo=UTC), datetime(2027, 1, 2, tzinfo=UTC), "before the valuation"),
        (datetime(2027, 1, 2, tzinfo=UTC), datetime(2027, 1, 2, 0, 30, tzinfo=UTC), "whole number"),
    ],
)
def test_bad_windows(start: datetime, end: datetime, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fixing_times(NOW, start, end)


def test_business_days_before_skips_weekends_and_holidays() -> None:
    monday = datetime(2027, 2, 1, 14, tzinfo=UTC)  # delivery starts Monday 14:00
    assert business_days_before(monday, 1) == datetime(2027, 1, 29, 14, tzinfo=UTC)  # Friday
    assert business_days_before(monday, 2) == datetime(2027, 1, 28, 14, tzinfo=UTC)
    # 2027-01-18 is Martin Luther King Jr. Day on the NYSE calendar
    tuesday = datetime(2027, 1, 19, tzinfo=UTC)
    assert business_days_before(tuesday, 1, "us") == datetime(2027, 1, 15, tzinfo=UTC)
    assert business_days_before(tuesday, 1, "weekends") == datetime(2027, 1, 18, tzinfo=UTC)
    saturday = datetime(2027, 1, 30, tzinfo=UTC)
    assert business_days_before(saturday, 0) == datetime(2027, 1, 29, tzinfo=UTC)


def test_times_to_quantlib_dates_round_to_the_nearest_day() -> None:
    reference = ql.Date(1, 1, 2030)
    assert date_at(reference, 30 / 365) == reference + 30
    assert date_at(reference, 30.4 / 365) == reference + 30
    assert whole_days(30.5 / 365) == 31
