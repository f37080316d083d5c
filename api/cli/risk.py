"""``flopex risk``: risk reports; ``flopex risk backtest DATA...`` scores the two VaR methods on real
price histories (Kupiec POF and Christoffersen independence; see docs/clearing.md)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from api.cli.calibrate import load_cli_series, series_options


@click.group("risk")
def command() -> None:
    """Risk: VaR backtests on price histories."""


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


@command.command("backtest")
@click.argument("data", nargs=-1, required=True, type=click.Path(exists=True))
@series_options
@click.option("--window", default=168, show_default=True, help="Returns in each VaR look-back.")
@click.option("--level", default=0.99, show_default=True, help="VaR confidence level.")
@click.option("--paths", "n_paths", default=20_000, show_default=True, help="Monte Carlo draws.")
@click.option("--seed", default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def backtest_command(
    data: tuple[str, ...], window: int, level: float, n_paths: int, seed: int, as_json: bool, **reading: str
) -> None:
    """Backtest historical-simulation VaR against model Monte Carlo VaR on DATA (files or directories).

    Every step of every series forecasts the next step's VaR of a unit long and a unit short position
    by both methods; exceedances are scored with Kupiec's POF and Christoffersen's independence tests,
    and the method with the higher conditional-coverage p-value is the better calibrated.
    """
    from api.cli import UserError
    from pricing.risk.backtest import backtest

    freq = reading["freq"]
    series = {f.stem: load_cli_series(str(f), **reading) for f in _files(data)}
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
