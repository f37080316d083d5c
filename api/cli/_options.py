"""Options shared by several commands."""

from __future__ import annotations

import click

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


scheduler_option = click.option(
    "--scheduler",
    metavar="ADDRESS",
    default=None,
    help="Run on Dask: 'local' (a cluster of one process per core) or an existing scheduler "
    "tcp://host:8786 (default: $FLOPEX_DASK_SCHEDULER; unset: this machine's process pool). "
    "See docs/scaling.md.",
)
