"""``flopex lifecycle``: run the market's due duties from the command line (for cron), see their state.

``flopex serve`` runs the same duties on its own every ``FLOPEX_LIFECYCLE_SECONDS``; this command is
for operators who prefer a scheduler, and for catching a database up without serving it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import click

from api.cli import UserError
from api.cli._options import database_option, exchange_clock, require_schema, resolve_database_url


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
    exchange = Exchange(engine, exchange_clock())
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


_PLAN_FIELDS = (
    "months",
    "weeks",
    "days",
    "option_months",
    "strikes",
    "step_bps",
    "expiry_business_days",
    "max_fixing_age_hours",
)


@command.command()
@database_option
@click.argument("product")
@click.option(
    "--settlement", type=click.Choice(["physical", "cash"]), default=None, help="How rolled forwards settle."
)
@click.option("--months", type=click.IntRange(0, 24), default=None, help="Month forwards kept listed ahead.")
@click.option(
    "--weeks", type=click.IntRange(0, 104), default=None, help="ISO-week forwards kept listed ahead."
)
@click.option("--days", type=click.IntRange(0, 400), default=None, help="Day forwards kept listed ahead.")
@click.option("--option-months", type=click.IntRange(0, 12), default=None, help="Months carrying options.")
@click.option("--strikes", type=click.IntRange(0, 20), default=None, help="Strikes each side of the mark.")
@click.option(
    "--step-bps", type=click.IntRange(1, 10_000), default=None, help="Strike spacing, basis points."
)
@click.option(
    "--expiry-business-days",
    type=click.IntRange(0, 20),
    default=None,
    help="European expiry before delivery.",
)
@click.option(
    "--max-fixing-age-hours", type=click.IntRange(1, 24 * 366), default=None, help="Index age before stale."
)
def plan(database_url: str | None, product: str, settlement: str | None, **counts: int | None) -> None:
    """Show PRODUCT's lifecycle plan; the options given change it (the others keep their value) and
    bring the roll forward to the next pass."""
    import dataclasses

    from market.db import make_engine
    from market.errors import MarketError
    from market.lifecycle.jobs import JobStore
    from market.service import Exchange
    from market.units import to_epoch_us

    url = resolve_database_url(database_url)
    require_schema(url)
    engine = make_engine(url)
    exchange = Exchange(engine, exchange_clock())
    changes = {k: v for k, v in {"settlement": settlement, **counts}.items() if v is not None}
    try:
        current = exchange.product_schedule(product)
        if changes:
            current = exchange.set_product_schedule(product, dataclasses.replace(current, **changes))
            JobStore(engine).bring_forward("roll", to_epoch_us(exchange.now()))
    except MarketError as exc:
        raise UserError(f"{exc.code}: {exc.message}") from None
    finally:
        engine.dispose()
    click.echo(f"{product} plan{' (changed)' if changes else ''}:")
    click.echo(f"  settlement            {current.settlement}")
    for name in _PLAN_FIELDS:
        click.echo(f"  {name:<21} {getattr(current, name)}")
    click.echo(f"  option style          {current.option_style}")
