"""The demo market seeds on any day: month ends, year ends, leap days and the days between a front
month's option expiry and its delivery (the first round's demo crashed on those)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from api.demo import seed_demo
from api.settings import Settings
from market.db import make_engine
from market.service import Exchange
from migrations import commands as migrate

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


def _counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table: connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in (
                    "accounts",
                    "products",
                    "instruments",
                    "fixings",
                    "listings",
                    "orders",
                    "trades",
                )
            }
    finally:
        engine.dispose()


@pytest.mark.parametrize("fail_at", [1, 9])
def test_a_seed_that_crashed_half_way_is_finished_by_the_next_run(
    fail_at: int, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure injected at the ``fail_at``-th order: the next run (an hour later) finishes the seed,
    prints working keys for every account, and ends with exactly what an uninterrupted seed makes."""
    moment = HARD_DAYS[0]
    placed = Exchange.place_order

    def failing(self: Exchange, *args: object, **kwargs: object) -> object:
        failing.calls += 1
        if failing.calls == fail_at:
            raise RuntimeError("the power went out")
        return placed(self, *args, **kwargs)

    failing.calls = 0
    monkeypatch.setattr(Exchange, "place_order", failing)
    settings = Settings.from_env().with_overrides(database_url=sqlite_url)
    with pytest.raises(RuntimeError, match="power"):
        seed_demo(settings, lambda line: None, clock=lambda: moment)
    monkeypatch.setattr(Exchange, "place_order", placed)

    lines = _seed_at(moment + timedelta(hours=1), sqlite_url)
    assert lines[0].startswith("demo: resuming")
    keys = {
        parts[0]: parts[1]
        for line in lines
        if len(parts := line.split()) == 2 and parts[1].startswith("flx_")
    }
    assert set(keys) == {"admin", "demo-cloud-a", "demo-cloud-b", "demo-trader-1", "demo-trader-2"}
    engine = make_engine(sqlite_url)
    try:
        exchange = Exchange(engine, clock=lambda: moment + timedelta(hours=1))
        for name, key in keys.items():
            assert exchange.authenticate(key).name == ("demo-admin" if name == "admin" else name)
        active = [k for k in exchange.api_keys() if k.revoked_at is None]
        assert len(active) == len(keys)  # keys the crashed run issued and never printed are revoked
        exchange.start()
        assert exchange.check() == []
        exchange.close()
    finally:
        engine.dispose()
    _check_market(sqlite_url, moment + timedelta(hours=1))

    clean = f"sqlite:///{tmp_path / 'clean.db'}"
    migrate.upgrade(clean)
    _seed_at(moment, clean)
    assert _counts(sqlite_url) == _counts(clean)

    again: list[str] = []
    assert not seed_demo(settings, again.append, clock=lambda: moment + timedelta(hours=2))
    assert "already seeded" in again[0]
