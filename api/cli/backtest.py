"""``flopex backtest DATA --models ... --out DIR``: rolling-origin backtest of spot models on a price file."""

from __future__ import annotations

import json

import click

from api.cli._options import scheduler_option
from api.cli.calibrate import SeriesReading, load_cli_series, series_options
from pricing.backtest.runner import FORECASTERS


def _names(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


@click.command("backtest")
@click.argument("data", type=click.Path(dir_okay=False))
@series_options
@click.option(
    "--models",
    default="jump_ou,schwartz1f,gbm",
    show_default=True,
    help=f"Comma-separated models: {', '.join(FORECASTERS)}; auto: all of them.",
)
@click.option(
    "--conformal/--no-conformal",
    default=False,
    show_default=True,
    help="Also score each model recalibrated on its own past out-of-sample errors (M+conformal).",
)
@click.option(
    "--cqr/--no-cqr",
    default=False,
    show_default=True,
    help="Also score each model with its intervals widened level by level by split-conformal "
    "quantiles of its past interval misses (M+cqr).",
)
@click.option(
    "--aci/--no-aci",
    default=False,
    show_default=True,
    help="Also score each model with its intervals steered online by adaptive conformal inference "
    "from the outcomes known at each origin (M+aci; valid under distribution shift).",
)
@click.option(
    "--select/--no-select",
    default=False,
    show_default=True,
    help="Also score the model a market would have used: at each origin, the one with the lowest "
    "mean CRPS over the outcomes known by then (row set 'selected').",
)
@click.option("--horizons", default="1d,7d", show_default=True, help="Delays from origin to window start.")
@click.option(
    "--window", "windows", default="1d", show_default=True, help="Delivery window lengths (comma-separated)."
)
@click.option("--train", default="7d", show_default=True, help="Trailing calibration window.")
@click.option("--step", default="1d", show_default=True, help="Time between origins.")
@click.option(
    "--refit-every",
    default=1,
    show_default=True,
    help="Refit every k origins, re-anchoring in between (0: fit once).",
)
@click.option("--paths", "n_paths", default=2000, show_default=True, help="Monte Carlo paths per forecast.")
@click.option("--seed", default=0, show_default=True)
@click.option("--workers", type=int, default=None, help="Processes (default: all cores; 1: no pool).")
@scheduler_option
@click.option("--out", "out", type=click.Path(file_okay=False), required=True, help="Output directory.")
def command(
    data: str,
    reading: SeriesReading,
    models: str,
    conformal: bool,
    cqr: bool,
    aci: bool,
    select: bool,
    horizons: str,
    windows: str,
    train: str,
    step: str,
    refit_every: int,
    n_paths: int,
    seed: int,
    workers: int | None,
    scheduler: str | None,
    out: str,
) -> None:
    """Backtest models on DATA and write metrics.json, forecasts.csv, plots and report.html to OUT.

    At each origin every model is calibrated on the trailing --train window and forecasts the
    average price of each delivery window [origin + horizon, + window); see docs/backtesting.md.
    """
    from api.cli import UserError
    from pricing.backtest import run

    chosen = list(FORECASTERS) if models.strip() == "auto" else _names(models)
    unknown = [m for m in chosen if m not in FORECASTERS]
    if unknown:
        raise UserError(f"unknown model {unknown[0]!r}: use one of {', '.join(FORECASTERS)} or auto")
    series = load_cli_series(data, reading)
    source = {
        "data": data,
        "format": reading.data_format,
        "statistic": reading.stat,
        "time_column": reading.time_column,
        "price_column": reading.price_column,
        "freq": reading.freq,
        "max_gap": reading.max_gap,
    }
    try:
        result = run(
            series,
            chosen,
            horizons=_names(horizons),
            windows=_names(windows),
            train=train,
            step=step,
            refit_every=refit_every,
            n_paths=n_paths,
            seed=seed,
            workers=workers,
            scheduler=scheduler,
            conformal=conformal,
            cqr=cqr,
            aci=aci,
            select=select,
            source=source,
        )
    except ValueError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:  # the scheduler could not be reached
        raise UserError(f"scheduler: {exc}") from None
    directory = result.save(out)
    click.echo(result.ranking.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    click.echo(json.dumps({k: round(v, 2) for k, v in result.timings.items()}))
    click.echo(f"report: {directory / 'report.html'}")
