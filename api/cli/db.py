"""``flopex db``: create, upgrade, inspect and revert the database schema."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

from api.cli import UserError
from api.cli._options import database_option, resolve_database_url

T = TypeVar("T")


def _run(action: Callable[..., T], *args: object) -> T:
    """Run a database action, turning the failures a user can fix into one ``error:`` line."""
    import sqlalchemy as sa
    from alembic.util import CommandError

    try:
        return action(*args)
    except sa.exc.ArgumentError as exc:
        raise UserError(f"invalid database URL: {exc}") from None
    except sa.exc.OperationalError as exc:
        raise UserError("cannot reach the database: " + " ".join(str(exc.orig).split())) from None
    except CommandError as exc:
        raise UserError(str(exc)) from None


def _migrate(action: Callable[[str, str], None], database_url: str | None, revision: str) -> None:
    """Move the database to ``revision`` with ``action`` and say where it ended up."""
    from migrations import commands as migrate

    url = resolve_database_url(database_url)
    _run(action, url, revision)
    click.echo(f"database at {_run(migrate.current, url) or 'base'}")


@click.group(name="db")
def command() -> None:
    """Manage the database schema (Alembic migrations)."""


@command.command()
@database_option
@click.argument("revision", default="head")
def upgrade(database_url: str | None, revision: str) -> None:
    """Apply migrations up to REVISION (default: head); creates an SQLite file if needed."""
    from migrations import commands as migrate

    _migrate(migrate.upgrade, database_url, revision)


@command.command()
@database_option
@click.argument("revision")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (for scripts).")
def downgrade(database_url: str | None, revision: str, yes: bool) -> None:
    """Revert migrations down to REVISION (`base` drops every flopex table, `-1` steps back one).

    Reverting drops tables or columns and the data in them, so it asks first unless given --yes.
    """
    from migrations import commands as migrate

    url = resolve_database_url(database_url)
    if not yes:
        click.confirm(
            f"Revert {url} to {revision}? Tables and columns added since, and their data, are dropped",
            abort=True,
        )
    _migrate(migrate.downgrade, url, revision)


@command.command()
@database_option
def current(database_url: str | None) -> None:
    """Print the database's revision and whether it is up to date."""
    from migrations import commands as migrate

    url = resolve_database_url(database_url)
    at, newest = _run(migrate.current, url), migrate.head()
    state = "up to date" if at == newest else f"behind head {newest}"
    click.echo(f"{at or 'base'} ({state})")


@command.command()
@database_option
@click.option("-m", "--message", required=True, help="What the revision changes.")
def revision(database_url: str | None, message: str) -> None:
    """Autogenerate a migration from the models (for contributors; point --db at a scratch database).

    The scratch database is first upgraded to head, so the new revision holds only the difference.
    """
    from migrations import commands as migrate

    url = resolve_database_url(database_url)
    _run(migrate.upgrade, url, "head")
    click.echo(f"created revision {_run(migrate.revision, url, message)}")
