"""``flopex serve``: apply pending migrations, then serve the HTTP API with uvicorn."""

from __future__ import annotations

import click

from api.cli import UserError
from api.cli._options import database_option, resolve_database_url


@click.command(name="serve")
@click.option("--host", default=None, help="Address to bind (default: $FLOPEX_HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port to bind (default: $FLOPEX_PORT or 8000).")
@database_option
@click.option("--demo", is_flag=True, help="Seed an empty database with a demo market.")
def command(host: str | None, port: int | None, database_url: str | None, demo: bool) -> None:
    """Serve the flopex HTTP API; pending migrations are applied first."""
    import importlib.util

    from market import db

    url = resolve_database_url(database_url)
    db.upgrade(url)
    if importlib.util.find_spec("api.app") is None:
        raise UserError(f"database ready at {url}, but the HTTP API is not part of this build yet")
    import uvicorn

    from api.settings import Settings

    settings = Settings.from_env().with_overrides(host=host, port=port, database_url=url)
    uvicorn.run("api.app:create_app", factory=True, host=settings.host, port=settings.port,
                log_level=settings.log_level)
