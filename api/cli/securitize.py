"""``flopex securitize price|report DEAL``: analyse a securitization deal (docs/securitization.md)."""

from __future__ import annotations

import sys
from typing import IO, Any

import click


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
