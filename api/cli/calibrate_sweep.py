"""``flopex calibrate-sweep DATA... --models M,N``: every model fitted to every price file, one table."""

from __future__ import annotations

import json
import math
from pathlib import Path

import click

from api.cli._options import scheduler_option
from api.cli.calibrate import MODELS, SeriesReading, load_cli_series, series_options


@click.command("calibrate-sweep")
@click.argument("data", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--models",
    default=",".join(MODELS),
    show_default=True,
    help="Comma-separated models to fit to every file.",
)
@series_options
@click.option(
    "--intervals/--no-intervals",
    default=True,
    show_default=True,
    help="95% profile-likelihood intervals, and flags for parameters they leave open (seconds per fit).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per fit.")
@scheduler_option
def command(
    data: tuple[str, ...],
    models: str,
    reading: SeriesReading,
    intervals: bool,
    as_json: bool,
    scheduler: str | None,
) -> None:
    """Fit each of MODELS to each price file in DATA and rank the models per file by AIC.

    Each (file, model) fit is one task: with --scheduler the fits run on Dask, with the same table as
    here. Each model's default fit is used (jump_ou: the robust fit). A fit that fails, or that does
    not converge (parameters flagged as at a boundary or not identified), is listed below the table
    with its reason. Files are named by their stem.
    """
    from tqdm import tqdm

    from api.cli import UserError
    from pricing.calibration.sweep import sweep

    names = [m.strip() for m in models.split(",") if m.strip()]
    stems = [Path(path).stem for path in data]
    if len(set(stems)) != len(stems):
        raise UserError("two files share a name: give files with distinct names")
    series = {stem: load_cli_series(path, reading) for stem, path in zip(stems, data, strict=True)}
    try:
        with tqdm(total=len(series) * len(names), desc="fits", unit="fit", disable=None) as bar:
            table = sweep(series, names, intervals=intervals, scheduler=scheduler, progress=bar.update)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:  # the scheduler could not be reached
        raise UserError(f"scheduler: {exc}") from None
    table["aic_rank"] = table.groupby("series")["aic"].rank(method="min", na_option="bottom").astype(int)
    if as_json:
        for row in table.to_dict(orient="records"):
            row["params"] = json.loads(row["params"]) if row["params"] else None
            clean = {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in row.items()}
            click.echo(json.dumps(clean))
        return
    shown = table.drop(columns=["params", "why", "error"])
    click.echo(shown.to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    reasons = table[(table["why"] != "") | (table["error"] != "")]
    if len(reasons):
        click.echo("\nwhy not converged:")
    for row in reasons.itertuples():
        click.echo(f"  {row.series} {row.model}: {row.error or row.why}")
