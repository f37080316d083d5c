"""``flopex lifecycle``: run the market's due duties from the command line (for cron), see their state.

``flopex serve`` runs the same duties on its own every ``FLOPEX_LIFECYCLE_SECONDS``; this command is
for operators who prefer a scheduler, and for catching a database up without serving it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import click

from api.cli import UserError
from api.cli._options import database_option, require_schema, resolve_database_url


@click.group(name="lifecycle")
def command() -> None:
    """Run the market's scheduled duties (roll, settle, mark, offer) and show their state."""


@command.command()
@database_option
@click.option(
    "--until",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"]),
    default=None,
    help="Keep running due duties until this UTC time (default: one pass, then exit).",
)
@click.option(
    "--every", type=click.FloatRange(min=0.1), default=10.0, show_default=True, help="Seconds between passes."
)
def run(database_url: str | None, until: datetime | None, every: float) -> None:
    """Run every duty that is due now, catching up on whatever was missed; exits 1 if a duty failed."""
    from market.db import make_engine
    from market.errors import MarketError
    from market.lifecycle.runner import Runner
    from market.service import Exchange
    from market.writer import WriterLock

    url = resolve_database_url(database_url)
    require_schema(url)
    engine = make_engine(url)
    exchange = Exchange(engine)
    writer = WriterLock(url, "flopex lifecycle run", exchange.now())
    failed = False
    try:
        writer.acquire()  # a running `flopex serve` already runs the lifecycle on this database
        exchange.start()
        runner = Runner(exchange, engine)
        deadline = None if until is None else until.replace(tzinfo=UTC)
        while True:
            for done in runner.run_due():
                click.echo(f"{done.name:<14} {'ok' if done.ok else 'FAILED'}  {done.detail}")
                failed |= not done.ok
            if deadline is None or exchange.now() >= deadline:
                break
            time.sleep(min(every, max((deadline - exchange.now()).total_seconds(), 0.0)))
    except MarketError as exc:
        raise UserError(f"{exc.code}: {exc.message}") from None
    finally:
        exchange.close()
        engine.dispose()
        writer.release()
    if failed:
        raise SystemExit(1)


@command.command()
@database_option
def status(database_url: str | None) -> None:
    """Each duty with its last run, outcome and next run."""
    from market.db import make_engine
    from market.lifecycle.jobs import JobStore

    url = resolve_database_url(database_url)
    require_schema(url)
    engine = make_engine(url)
    try:
        jobs = JobStore(engine).jobs()
    finally:
        engine.dispose()
    if not jobs:
        click.echo("no duty has run yet: `flopex serve` or `flopex lifecycle run` starts them")

    def when(moment: datetime | None) -> str:
        return "-" if moment is None else f"{moment:%Y-%m-%dT%H:%M:%SZ}"

    for job in jobs:
        click.echo(
            f"{job.name:<14} {job.outcome or '-':<8} last {when(job.last_finished)}  "
            f"next {when(job.next_run)}  runs {job.runs}  failures {job.failures}  {job.detail or ''}"
        )
