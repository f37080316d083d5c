"""The demo market seeds on any day: month ends, year ends, leap days and the days between a front
month's option expiry and its delivery (the first round's demo crashed on those)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from api.demo import seed_demo
from api.settings import Settings
from market.db import make_engine
from market.service import Exchange

HARD_DAYS = [
    datetime(2026, 11, 30, 12, tzinfo=UTC),  # the day the first round's demo crashed
    datetime(2026, 11, 27, 23, 30, tzinfo=UTC),  # a Friday: the December options expire today
    datetime(2026, 12, 31, 23, 59, tzinfo=UTC),  # the last minute of a year
    datetime(2027, 1, 1, 0, 0, 1, tzinfo=UTC),  # the first second of a year
    datetime(2028, 2, 29, 6, tzinfo=UTC),  # a leap day
    datetime(2028, 3, 1, 0, 30, tzinfo=UTC),  # the first hour of a month
    datetime(2027, 5, 29, 9, tzinfo=UTC),  # a Saturday before a month end
]


def _seed_at(moment: datetime, url: str) -> list[str]:
    settings = Settings.from_env().with_overrides(database_url=url)
    lines: list[str] = []
    assert seed_demo(settings, lines.append, clock=lambda: moment)
    return lines


def _check_market(url: str, moment: datetime) -> None:
    engine = make_engine(url)
    exchange = Exchange(engine, clock=lambda: moment)
    try:
        exchange.start()
        options = exchange.instruments(product="A100", kind="option")
        assert options, "the demo lists A100 options on every day"
        assert all(i.expiry > moment for i in options)
        assert exchange.book("H100-" + _front_label(moment), depth=1).asks
    finally:
        exchange.close()
        engine.dispose()


def _front_label(moment: datetime) -> str:
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return f"{year}-{month:02d}"


@pytest.mark.parametrize("moment", HARD_DAYS, ids=lambda m: m.isoformat())
def test_demo_seeds_on_hard_days(moment: datetime, sqlite_url: str) -> None:
    lines = _seed_at(moment, sqlite_url)
    assert any("demo-trader-1" in line for line in lines)
    _check_market(sqlite_url, moment)


@pytest.mark.slow
@pytest.mark.parametrize(
    "day", range(0, 731), ids=lambda d: (date(2026, 1, 1) + timedelta(days=d)).isoformat()
)
def test_demo_seeds_every_day_of_two_years(day: int, sqlite_url: str) -> None:
    moment = datetime(2026, 1, 1, 18, tzinfo=UTC) + timedelta(days=day)
    _seed_at(moment, sqlite_url)
    _check_market(sqlite_url, moment)
