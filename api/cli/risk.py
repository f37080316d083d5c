"""``flopex risk``: ``report ACCOUNT`` (Greeks, VaR/ES, stress, margin), ``remargin`` (one clearing
pass) and ``backtest DATA...`` (the two VaR methods scored on real price histories with Kupiec POF and
Christoffersen independence; see docs/clearing.md)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from api.cli._options import database_option
from api.cli.admin import _with_exchange
from api.cli.calibrate import SeriesReading, load_cli_series, series_options
from market.units import micros_to_dollars

if TYPE_CHECKING:
    from market.clearing.remargin import RemarginReport
    from market.service import Exchange


@click.group("risk")
def command() -> None:
    """Risk: account reports, re-margining passes and VaR backtests on price histories."""


def _files(paths: tuple[str, ...]) -> list[Path]:
    from api.cli import UserError

    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in (".jsonl", ".csv", ".parquet"))
            if not found:
                raise UserError(f"{path}: no .jsonl, .csv or .parquet files")
            files.extend(found)
        else:
            files.append(path)
    return files


def _common_grid(series: dict[str, Any], freq: str) -> str:
    """The one grid every series is read on: ``freq`` as given, or the grid inferred from the data
    (``auto``), which must then be the same for every series since one VaR horizon is scored."""
    from api.cli import UserError
    from pricing.series import infer_freq

    if freq != "auto":
        return freq
    grids = {name: infer_freq(s) for name, s in series.items()}
    if len(set(grids.values())) > 1:
        listed = ", ".join(f"{name} {grid}" for name, grid in sorted(grids.items()))
        raise UserError(f"the series are on different grids ({listed}); pass --freq to read them on one")
    return next(iter(grids.values()))


@command.command("backtest")
@click.argument("data", nargs=-1, required=True, type=click.Path(exists=True))
@series_options
@click.option("--window", default=168, show_default=True, help="Returns in each VaR look-back.")
@click.option("--level", default=0.99, show_default=True, help="VaR confidence level.")
@click.option("--paths", "n_paths", default=20_000, show_default=True, help="Monte Carlo draws.")
@click.option("--seed", default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def backtest_command(
    data: tuple[str, ...],
    window: int,
    level: float,
    n_paths: int,
    seed: int,
    as_json: bool,
    reading: SeriesReading,
) -> None:
    """Backtest historical-simulation VaR against model Monte Carlo VaR on DATA (files or directories).

    Every step of every series forecasts the next step's VaR of a unit long and a unit short position
    by both methods; exceedances are scored with Kupiec's POF and Christoffersen's independence tests,
    and the method with the higher conditional-coverage p-value is the better calibrated.
    """
    from api.cli import UserError
    from pricing.risk.backtest import backtest

    series = {f.stem: load_cli_series(str(f), reading) for f in _files(data)}
    freq = _common_grid(series, reading.freq)
    try:
        result = backtest(series, window=window, level=level, freq=freq, paths=n_paths, seed=seed)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if as_json:
        click.echo(json.dumps(asdict(result), indent=2))
        return
    click.echo(
        f"VaR {level:.2%} over one {freq} step, {window}-step look-back, {len(series)} series, long and short"
    )
    columns = ("obs", "exceed", "expected", "Kupiec p", "indep p", "cond p")
    click.echo(f"{'method':<12} " + " ".join(f"{c:>9}" for c in columns))
    for s in result.scores:
        click.echo(
            f"{s.method:<12} {s.observations:>9} {s.exceedances:>9} {s.expected:>9.1f} "
            f"{s.kupiec.p_value:>9.3g} {s.independence.p_value:>9.3g} {s.conditional.p_value:>9.3g}"
        )
    click.echo(f"better calibrated: {result.better}")


@command.command("report")
@database_option
@click.argument("account_id")
def report_command(database_url: str | None, account_id: str) -> None:
    """Print ACCOUNT_ID's risk: Greeks, one-day VaR/ES (historical and Monte Carlo), stress scenarios
    per product, and its portfolio margin against the per-instrument rule."""
    report = _with_exchange(database_url, lambda ex: ex.risk(account_id))
    usd = micros_to_dollars
    for p in report.products:
        click.echo(f"{p.product}: delta {p.delta:,.1f} GPU-h, gamma {p.gamma:,.3g}, vega {p.vega:,.2f}")
        click.echo(f"  volatility {p.vol:.1%}")
        if p.historical_var is None:
            click.echo("  VaR 99% 1d historical: n/a (under 20 days of index history)")
        else:
            click.echo(
                f"  VaR 99% 1d historical {p.historical_var:,.2f}, ES 97.5% {p.historical_es:,.2f}"
                f" ({p.historical_scenarios} days)"
            )
        click.echo(f"  VaR 99% 1d Monte Carlo {p.mc_var:,.2f}, ES 97.5% {p.mc_es:,.2f}")
        for name, pnl in p.stress.items():
            click.echo(f"  stress {name:<15} {pnl:+,.2f}")
    for m in report.margin:
        click.echo(
            f"{m.product} margin {usd(m.required_micros)}: scan {usd(m.scan_micros)}, spread"
            f" {usd(m.spread_micros)}, option value {usd(m.option_value_micros)}, floor {usd(m.floor_micros)}"
        )
        click.echo(f"  the per-instrument rule would hold {usd(m.per_instrument_micros)}")
    if not report.products and not report.margin:
        click.echo("no open positions")


def _pass(exchange: Exchange) -> RemarginReport:
    exchange.start()
    try:
        return exchange.remargin()
    finally:
        exchange.close()


@command.command("remargin")
@database_option
@click.option(
    "--if-moved",
    is_flag=True,
    help="Only when an index moved 5% or more since the last pass (for a feed's cron job).",
)
def remargin_command(database_url: str | None, if_moved: bool) -> None:
    """Run one re-margining pass (it needs the books: with a server running, use POST /v1/admin/remargin)."""
    if if_moved:
        moved = _with_exchange(database_url, lambda ex: ex.moved_products())
        if not moved:
            click.echo("no index moved 5% or more since the last pass: nothing to do")
            return
        click.echo(f"large move since the last pass: {', '.join(moved)}")
    r = _with_exchange(database_url, _pass)
    usd = micros_to_dollars
    click.echo(f"marked {r.marked} instruments, re-margined {r.accounts} accounts")
    click.echo(f"variation margin paid {usd(r.variation_micros)}")
    click.echo(
        f"calls opened {len(r.calls_opened)}, met {len(r.calls_met)}; liquidated {r.liquidated_lots} lots"
    )
    click.echo(f"default fund target {usd(r.fund_target_micros)}; defaults covered {len(r.defaults)}")


@command.command("instructions")
@database_option
@click.option("--pending", is_flag=True, help="Only those no shard has applied yet.")
@click.option("--limit", default=100, show_default=True, help="How many, newest first.")
def instructions_command(database_url: str | None, pending: bool, limit: int) -> None:
    """The elected process's instructions to the shards owning the books: liquidations, note revisions."""
    found = _with_exchange(database_url, lambda ex: ex.clearing_instructions(pending, limit))
    for i in found:
        state = "pending" if i.applied_at is None else f"applied {i.applied_at.isoformat()}: {i.outcome}"
        what = f"call {i.call_id} {i.account_id}" if i.kind == "liquidate" else f"{i.kind} {i.symbol}"
        click.echo(f"#{i.id} {what} in {i.product} ({i.created_at.isoformat()}): {state}")
    if not found:
        click.echo("no clearing instructions")
