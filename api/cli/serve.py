"""``flopex serve``: apply pending migrations, optionally seed the demo market, serve the API with uvicorn."""

from __future__ import annotations

import click

from api.cli import UserError
from api.cli._options import database_option, resolve_database_url

KEEP_ALIVE_SECONDS = 75
"""How long an idle keep-alive connection stays open: longer than clients keep idle connections
(httpx, and so ``api.client``, 5 s; browsers about 60 s), so the client closes first. With uvicorn's
default of 5 s a request sent as the server closed the connection failed with "server disconnected
without sending a response" (seen in the browser tests)."""


@click.command(name="serve")
@click.option("--host", default=None, help="Address to bind (default: $FLOPEX_HOST or 127.0.0.1).")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=None, help="Port (default: $FLOPEX_PORT or 8000)."
)
@database_option
@click.option("--demo", is_flag=True, help="Seed an empty database with a demo market and print its keys.")
@click.option(
    "--reports",
    type=click.Path(file_okay=False, exists=True),
    default=None,
    help="Publish the backtest and stress reports under this directory at /v1/reports "
    "(default: $FLOPEX_REPORTS_DIR).",
)
@click.option(
    "--standby",
    is_flag=True,
    default=None,
    help="PostgreSQL only: serve at once, and take the books over when the process holding them "
    "dies (default: $FLOPEX_STANDBY). Book requests meanwhile get 421 book_elsewhere naming it.",
)
@click.option(
    "--products",
    default=None,
    metavar="H100,H200",
    help="PostgreSQL only: hold the books of these products only, as one shard among several "
    "processes (default: $FLOPEX_PRODUCTS, else every book). Requests for other books get 421 "
    "book_elsewhere naming their shard; a shard takes over the books of a shard that dies.",
)
def command(
    host: str | None,
    port: int | None,
    database_url: str | None,
    demo: bool,
    reports: str | None,
    standby: bool | None,
    products: str | None,
) -> None:
    """Serve the flopex HTTP and WebSocket API; pending migrations are applied first.

    While serving, the market's lifecycle runs in the background (listing, settling, marking,
    offering; see `flopex lifecycle status`). One process serves an SQLite database: a second one is
    refused, naming the process that holds it. On PostgreSQL one process holds the books and others
    may wait with --standby to take them over, or several shards each hold the books of the
    --products they name (docs/scaling.md).

    The OpenAPI document is at /schema (browsable) and /schema/openapi.json.
    """
    import sqlalchemy as sa
    import uvicorn

    from api.app import create_app
    from api.settings import Settings, SettingsError, parse_products
    from market.errors import MarketError
    from market.house import utc_now
    from market.writer import WriterLock
    from migrations import commands as migrate

    url = resolve_database_url(database_url)
    writer = WriterLock(url, "flopex serve", utc_now())
    try:
        writer.acquire()  # before anything writes: a second server on this SQLite file stops here
    except MarketError as exc:
        raise UserError(exc.message) from None
    try:
        settings = Settings.from_env().with_overrides(
            host=host,
            port=port,
            database_url=url,
            reports_dir=reports,
            standby=standby,
            products=parse_products(products),
        )
        on_postgres = sa.make_url(url).get_backend_name() == "postgresql"
        if settings.standby and not on_postgres:
            raise SettingsError("--standby needs a PostgreSQL database (an SQLite file has one process)")
        if settings.products is not None and not on_postgres:
            raise SettingsError("--products needs a PostgreSQL database (an SQLite file has one process)")
        migrate.upgrade(url)
        clock = settings.clock()
    except SettingsError as exc:
        raise UserError(str(exc)) from None
    except sa.exc.SQLAlchemyError as exc:
        raise UserError(f"cannot prepare the database {url}: {exc}") from None
    if demo:
        from api.demo import seed_demo

        seed_demo(settings, click.echo, clock)
    app = create_app(settings, clock=clock)
    # on stdout with the demo's keys: what a user reads; the server's own logs go to stderr
    base = f"http://{settings.host}:{settings.port}"
    click.echo(f"flopex on {base} (web interface: {base}/, API docs: {base}/schema)")
    try:
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
    finally:
        writer.release()
