"""``flopex stress SCENARIO --out DIR``: the death-spiral lab -- a shock against the real engine and
clearing rules, with the feedback loops on and off; optionally the mitigations side by side or a
sweep over a parameter, on Dask."""

from __future__ import annotations

import json

import click

from api.cli._options import scheduler_option


def _number(text: str) -> int | float:
    """A whole number as an int (money and counts are whole), anything else as a float."""
    try:
        return int(text)
    except ValueError:
        return float(text)


def _sweep_values(text: str) -> tuple[str, list[int | float]]:
    from api.cli import UserError

    parameter, _, values = text.partition("=")
    try:
        numbers = [_number(v.strip()) for v in values.split(",") if v.strip()]
    except ValueError:
        raise UserError(f"--sweep: values must be numbers, got {values!r}") from None
    if not parameter.strip() or not numbers:
        raise UserError("--sweep takes PARAMETER=V1,V2,... e.g. population.leverage=0,4,8")
    return parameter.strip(), numbers


@click.command("stress")
@click.argument("scenario")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, 2**31 - 1))
@click.option(
    "--seeds",
    default=4,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="Seeds (seed, seed+1, ...) per variant of --mitigations and per value of --sweep.",
)
@click.option("--mitigations", is_flag=True, help="Also compare the mitigations on the same seeds.")
@click.option(
    "--sweep",
    "sweep_spec",
    metavar="PARAM=V1,V2,...",
    default=None,
    help="Also sweep a scenario parameter, e.g. population.leverage=0,4,8.",
)
@scheduler_option
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Output directory.")
def command(
    scenario: str,
    seed: int,
    seeds: int,
    mitigations: bool,
    sweep_spec: str | None,
    scheduler: str | None,
    out: str,
) -> None:
    """Run SCENARIO (a shipped name: generation-shock, scarcity-spike, index-outage, basket-run; or a
    JSON scenario file) and write metrics.json, series.csv, PNG plots and report.html to OUT.

    The run is repeated as its control (margining and basket flows off, the same world); the
    amplification factor is the drawdown with the feedback loops over the control's. See
    docs/stress.md.
    """
    from tqdm import tqdm

    from api.cli import UserError
    from market.lab import measures, report, simulation, sweep
    from market.lab import scenario as scenarios

    try:
        chosen = scenarios.load(scenario)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    parsed = _sweep_values(sweep_spec) if sweep_spec else None
    with tqdm(total=2 * chosen.steps, desc=chosen.name, unit="step", disable=None) as bar:
        done = [0]

        def advance(steps: int) -> None:
            bar.update(steps - done[0])
            done[0] = steps

        run = simulation.run(chosen, seed, progress=advance)
        done[0] = 0
        control = simulation.run(chosen, seed, feedback=False, progress=advance)
    metrics = measures.metrics(run, control)
    tables = {}
    seed_list = list(range(seed, seed + seeds))
    try:
        if mitigations:
            with tqdm(total=seeds * (len(sweep.MITIGATIONS) + 1), desc="mitigations", disable=None) as bar:
                rows = sweep.compare_mitigations(chosen, seed_list, scheduler=scheduler, progress=bar.update)
            tables["Mitigations"] = sweep.summarize(rows, report.TABLE_KEYS)
        if parsed is not None:
            parameter, values = parsed
            with tqdm(total=2 * seeds * len(values), desc="sweep", disable=None) as bar:
                rows = sweep.sweep(
                    chosen, parameter, values, seed_list, scheduler=scheduler, progress=bar.update
                )
            tables[f"Sweep over {parameter}"] = sweep.summarize(rows, report.TABLE_KEYS)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:  # the scheduler could not be reached
        raise UserError(f"scheduler: {exc}") from None
    directory = report.save(out, chosen, seed, run, control, metrics, tables)
    shown = (
        "amplification",
        "drawdown",
        "control_drawdown",
        "forced_lots",
        "margin_calls",
        "fund_used_usd",
        "uncovered_usd",
        "max_discount_bps",
        "redeemed_units",
        "commands_per_s",
    )
    click.echo(json.dumps({k: round(metrics[k], 4) for k in shown}))
    for title, rows in tables.items():
        click.echo(title)
        click.echo(report.summary_frame(rows).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    click.echo(f"report: {directory / 'report.html'}")
