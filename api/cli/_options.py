"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import click

UTC_TIME = click.DateTime(formats=["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"])
"""A UTC time on the command line (without offset; the caller attaches UTC)."""

database_option = click.option(
    "--db",
    "database_url",
    metavar="URL",
    default=None,
    help="Database URL (default: $FLOPEX_DATABASE_URL or sqlite:///./flopex.db).",
)


def resolve_database_url(database_url: str | None) -> str:
    """The URL given on the command line, else the one from the environment settings."""
    from api.cli import UserError
    from api.settings import Settings, SettingsError

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        raise UserError(str(exc)) from None
    return database_url or settings.database_url


def exchange_clock() -> Callable[[], datetime]:
    """The exchange clock of commands run against the database (``FLOPEX_CLOCK_START`` or the wall
    clock; see :mod:`api.settings`)."""
    from api.cli import UserError
    from api.settings import Settings, SettingsError

    try:
        return Settings.from_env().clock()
    except SettingsError as exc:
        raise UserError(str(exc)) from None


def require_schema(database_url: str) -> None:
    """Refuse, with what to do, a database that has no flopex tables or an older schema than this
    version of flopex (instead of failing later on a missing table or column)."""
    import sqlalchemy as sa

    from api.cli import UserError
    from migrations import commands as migrate

    try:
        at = migrate.current(database_url)
    except sa.exc.OperationalError as exc:
        raise UserError("cannot reach the database: " + " ".join(str(exc.orig).split())) from None
    except sa.exc.ArgumentError as exc:
        raise UserError(f"invalid database URL: {exc}") from None
    if at is None:
        raise UserError(
            f"the database {database_url} has no flopex tables yet: run `flopex db upgrade` first"
        )
    if at != migrate.head():
        raise UserError(
            f"the database {database_url} is at revision {at}, behind this flopex: run `flopex db upgrade`"
        )


scheduler_option = click.option(
    "--scheduler",
    metavar="ADDRESS",
    default=None,
    help="Run on Dask: 'local' (a cluster of one process per core) or an existing scheduler "
    "tcp://host:8786 (default: $FLOPEX_DASK_SCHEDULER; unset: this machine's process pool). "
    "See docs/scaling.md.",
)
