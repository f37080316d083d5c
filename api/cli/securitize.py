"""``flopex securitize price|report DEAL``: analyse a securitization deal; ``flopex securitize pool
create|list|show|usage|report`` and ``flopex securitize service``: pools on the exchange
(docs/securitization.md)."""

from __future__ import annotations

import sys
from typing import IO, Any

import click

from api.cli import UserError
from api.cli._exchange import open_exchange
from api.cli._options import database_option


def _load(file: IO[str], paths: int | None, seed: int | None) -> Any:
    """The validated deal in ``file``, with --paths / --seed replacing its Monte Carlo settings."""
    import msgspec

    from pricing.securitization import DealError, decode_deal, parse_deal

    try:
        deal = decode_deal(file.read())
        if paths is not None or seed is not None:
            mc = msgspec.structs.replace(
                deal.spec.mc,
                paths=deal.spec.mc.paths if paths is None else paths,
                seed=deal.spec.mc.seed if seed is None else seed,
            )
            deal = parse_deal(msgspec.structs.replace(deal.spec, mc=mc))
    except DealError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    return deal


def _table(analysis: Any) -> str:
    import pandas as pd

    notes = pd.DataFrame(
        [
            {
                "tranche": m.name,
                "price": m.price,
                "+/-": m.price_std_error,
                "yield": m.yield_at_price,
                "spread": m.spread_at_price,
                "EL": m.expected_loss,
                "P(loss)": m.loss_probability,
                "WAL": m.wal,
                "duration": m.duration,
            }
            for m in analysis.tranches
        ]
    )
    sensitivities = pd.DataFrame(analysis.sensitivities).T
    scenarios = pd.DataFrame(
        [
            {
                "scenario": r.scenario,
                "tranche": r.tranche,
                "price": r.price,
                "EL": r.expected_loss,
                "P(loss)": r.loss_probability,
            }
            for r in analysis.scenarios
        ]
    )
    fmt = lambda v: f"{v:.4g}"  # noqa: E731
    return "\n\n".join(
        [
            f"{analysis.deal}: {analysis.paths} paths, {analysis.periods} periods, "
            f"{analysis.elapsed_ms / 1000:.2f} s",
            notes.to_string(index=False, float_format=fmt, na_rep="-"),
            "price change per 100 (level +1%, vol +10%, utilisation +1pt, intensity +0.01/y):",
            sensitivities.to_string(float_format=fmt),
            scenarios.to_string(index=False, float_format=fmt),
        ]
    )


paths_option = click.option("--paths", type=click.IntRange(1, 10_000_000), help="Override mc.paths.")
seed_option = click.option("--seed", type=click.IntRange(0), help="Override mc.seed.")


@click.group("securitize")
def command() -> None:
    """Price tranched notes backed by a pool of GPU capacity (deal format: docs/securitization.md).

    A bad deal prints "error: <field>: <reason>" and exits with status 2.
    """


@command.command("price")
@click.argument("deal", type=click.File("r"))
@paths_option
@seed_option
@click.option("--json", "as_json", is_flag=True, help="Print the full analysis as JSON.")
def price(deal: IO[str], paths: int | None, seed: int | None, as_json: bool) -> None:
    """Price each note of DEAL ("-" reads stdin): price, yield, spread, losses, WAL, duration,
    sensitivities and the scenario table."""
    import msgspec

    from pricing.securitization import analyse

    analysis, _ = analyse(_load(deal, paths, seed))
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode(analysis)).decode())
    else:
        click.echo(_table(analysis))


@command.command("report")
@click.argument("deal", type=click.File("r"))
@paths_option
@seed_option
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Output directory.")
def report(deal: IO[str], paths: int | None, seed: int | None, out: str) -> None:
    """Write analysis.json, loss-distribution and pool plots and a self-contained report.html to OUT."""
    from pricing.securitization.report import save_report

    directory, analysis = save_report(_load(deal, paths, seed), out)
    click.echo(_table(analysis))
    click.echo(f"report: {directory / 'report.html'}")


# ---------------------------------------------------------------- pools on the exchange


def _exchange(database_url: str | None, *, books: bool) -> Any:
    """The exchange on the database (:func:`api.cli._exchange.open_exchange`)."""
    return open_exchange(database_url, books=books, who="flopex securitize")


def _pool_line(pool: Any) -> str:
    from market.units import micros_to_dollars

    notes = ", ".join(f"{n.symbol} {micros_to_dollars(n.balance_micros)}" for n in pool.notes)
    return (
        f"pool {pool.id} {pool.code} ({pool.status}): {pool.product}, {pool.start.date()} to "
        f"{pool.end.date()}, serviced {pool.serviced}/{pool.periods}; {notes}"
    )


@command.group("pool")
def pool_group() -> None:
    """Securitised pools on the exchange, straight against the database (docs/securitization.md)."""


@pool_group.command("create")
@database_option
@click.option("--sponsor", required=True, help="The provider account whose listings are pooled.")
@click.argument("terms", type=click.File("r"))
def create_pool(database_url: str | None, sponsor: str, terms: IO[str]) -> None:
    """Form a pool from TERMS ("-" reads stdin: the JSON body of POST /v1/pools) and issue its notes."""
    import msgspec

    from api.schemas.pools import PoolCreate

    try:
        body = msgspec.json.decode(terms.read(), type=PoolCreate, strict=True)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise UserError(f"invalid pool terms: {exc}") from None
    with _exchange(database_url, books=True) as ex:
        click.echo(_pool_line(ex.create_pool(sponsor, body.terms())))


@pool_group.command("list")
@database_option
def list_pools(database_url: str | None) -> None:
    """One line per pool: its notes and their balances."""
    with _exchange(database_url, books=False) as ex:
        for pool in ex.pools():
            click.echo(_pool_line(pool))


@pool_group.command("show")
@database_option
@click.argument("pool_id", type=int)
def show_pool(database_url: str | None, pool_id: int) -> None:
    """The pool's report as JSON (the body of GET /v1/pools/{id}/report)."""
    import msgspec

    from api.schemas.pools import PoolReportOut

    with _exchange(database_url, books=False) as ex:
        report = ex.pool_report(pool_id)
    click.echo(msgspec.json.format(msgspec.json.encode(PoolReportOut.of(report))).decode())


@pool_group.command("usage")
@database_option
@click.option("--sponsor", required=True, help="The pool's sponsor.")
@click.argument("pool_id", type=int)
@click.argument("period", type=click.IntRange(0))
@click.argument("gpu_hours", type=click.IntRange(0))
def usage(database_url: str | None, sponsor: str, pool_id: int, period: int, gpu_hours: int) -> None:
    """Report the pooled GPU-HOURS the sponsor rented at the index in PERIOD (before it is serviced)."""
    with _exchange(database_url, books=False) as ex:
        ex.report_pool_usage(sponsor, pool_id, period, gpu_hours)
    click.echo(f"pool {pool_id} period {period}: {gpu_hours} GPU-hours at the index")


@pool_group.command("report")
@database_option
@click.argument("pool_id", type=int)
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Output directory.")
def pool_report(database_url: str | None, pool_id: int, out: str) -> None:
    """Write metrics.json, figures and a self-contained report.html of the pool to OUT."""
    from api.pool_report import save_pool_report

    with _exchange(database_url, books=False) as ex:
        report = ex.pool_report(pool_id)
    click.echo(_pool_line(report.pool))
    click.echo(f"report: {save_pool_report(report, out)}")


@command.command("service")
@database_option
@click.option("--pool", "pool_id", type=int, default=None, help="Only this pool (default: every pool).")
def service(database_url: str | None, pool_id: int | None) -> None:
    """Run every pool period whose end has passed through the waterfall and pay its noteholders
    (what the lifecycle's service_pools duty does)."""
    with _exchange(database_url, books=True) as ex:
        done = ex.service_pools(pool_id)
    for code, period in done.serviced:
        click.echo(f"{code} period {period} serviced")
    if not done.serviced:
        click.echo("no pool period due")
