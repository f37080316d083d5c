"""Settings come from FLOPEX_* variables with working defaults and clear errors."""

from __future__ import annotations

import pytest

from api.settings import Settings, SettingsError


def test_defaults_work_on_a_fresh_machine() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite:///./flopex.db"
    assert (settings.host, settings.port, settings.log_level) == ("127.0.0.1", 8000, "info")


def test_environment_overrides_defaults() -> None:
    env = {
        "FLOPEX_DATABASE_URL": "postgresql+psycopg://u@h/db",
        "FLOPEX_HOST": "0.0.0.0",
        "FLOPEX_PORT": "9000",
        "FLOPEX_LOG_LEVEL": "DEBUG",
    }
    assert Settings.from_env(env) == Settings("postgresql+psycopg://u@h/db", "0.0.0.0", 9000, "debug")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"FLOPEX_PORT": "eighty"}, "FLOPEX_PORT must be an integer"),
        ({"FLOPEX_PORT": "70000"}, "port must be between"),
        ({"FLOPEX_LOG_LEVEL": "loud"}, "log level must be one of"),
        ({"FLOPEX_DATABASE_URL": " "}, "database URL must not be empty"),
        ({"FLOPEX_PRODUCTS": "H100,h200"}, "not a product id: 'h200'"),
        ({"FLOPEX_PRODUCTS": ","}, "--products needs at least one product id"),
        ({"FLOPEX_PRODUCTS": "H100", "FLOPEX_STANDBY": "1"}, "no --standby"),
    ],
)
def test_bad_values_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_a_shard_names_its_products() -> None:
    assert Settings.from_env({}).products is None  # every book
    assert Settings.from_env({"FLOPEX_PRODUCTS": " H100, H200,H100 "}).products == ("H100", "H200")


def test_overrides_skip_unset_options() -> None:
    settings = Settings().with_overrides(host=None, port=8080)
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)


def test_the_clock_can_start_at_a_given_instant() -> None:
    from datetime import UTC, datetime

    from market.house import utc_now

    assert Settings.from_env({}).clock() is utc_now
    clock = Settings.from_env({"FLOPEX_CLOCK_START": "2027-03-10T09:00:00Z"}).clock()
    first, second = clock(), clock()
    start = datetime(2027, 3, 10, 9, tzinfo=UTC)
    assert start <= first <= second < start.replace(minute=1)  # runs on at the wall clock's pace
    for bad in ("2027-03-10T09:00:00", "yesterday"):
        with pytest.raises(SettingsError, match=r"clock start|FLOPEX_CLOCK_START"):
            Settings.from_env({"FLOPEX_CLOCK_START": bad})
