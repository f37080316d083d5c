"""``flopex calibrate DATA --model M``: fit a spot model to a price file and print the result."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import click

MODELS = ("gbm", "schwartz1f", "schwartz_smith", "arithmetic_ou", "jump_ou")


FILE_OPTIONS = [
    click.option(
        "--format",
        "data_format",
        type=click.Choice(["auto", "csv", "parquet", "gpu-price-tracker"]),
        default="auto",
        show_default=True,
        help="File format (auto: from the suffix).",
    ),
    click.option(
        "--stat",
        default="median",
        show_default=True,
        help="gpu-price-tracker statistic: min, p10, p25, median, p75, p90, max, mean or provider:NAME.",
    ),
    click.option("--time-column", default="timestamp", show_default=True, help="CSV/Parquet time column."),
    click.option("--price-column", default="price", show_default=True, help="CSV/Parquet price column."),
]
"""How to read a price file (shared by every command that reads one)."""

GRID_OPTIONS = [
    click.option(
        "--freq",
        default="auto",
        show_default=True,
        help="Resample to this grid (e.g. 1h, 1D): last price posted at each point. auto: the "
        "coarsest of 1h, 2h, 3h, 4h, 6h, 12h, 1D, 7D within the data's median spacing.",
    ),
    click.option(
        "--max-gap",
        default="auto",
        show_default=True,
        help="Longest stretch without data that is filled with the last price "
        "(auto: 12 grid steps, at least 12h).",
    ),
]


def _with(options: list[Callable[..., Any]], command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(options):
        command = option(command)
    return command


def file_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options that say how to read a price file (``flopex index import``)."""
    return _with(FILE_OPTIONS, command)


@dataclass(frozen=True)
class SeriesReading:
    """How a command reads price files and puts them on a grid: the values of :func:`series_options`."""

    data_format: str
    stat: str
    time_column: str
    price_column: str
    freq: str
    max_gap: str


def series_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options that say how to read a price file and put it on a grid (shared by ``calibrate``,
    ``calibrate-sweep``, ``backtest`` and ``risk backtest``); the command receives them as one
    :class:`SeriesReading` argument, ``reading``."""
    names = [f.name for f in fields(SeriesReading)]

    @functools.wraps(command)
    def with_reading(**kwargs: Any) -> Any:
        reading = SeriesReading(**{name: kwargs.pop(name) for name in names})
        return command(reading=reading, **kwargs)

    return _with(FILE_OPTIONS + GRID_OPTIONS, with_reading)


def load_cli_series(data: str, reading: SeriesReading) -> Any:
    """The resampled price series in the file ``data``, or a one-line UserError."""
    from api.cli import UserError
    from pricing.series import SeriesError, duration, infer_freq, load_series, resample

    r = reading
    try:
        series = load_series(
            data, format=r.data_format, stat=r.stat, time_column=r.time_column, price_column=r.price_column
        )
        grid = infer_freq(series) if r.freq == "auto" else r.freq
        gap = max(12 * duration(grid), duration("12h")) if r.max_gap == "auto" else r.max_gap
        return resample(series, grid, max_gap=gap)
    except (SeriesError, ValueError) as exc:
        raise UserError(str(exc)) from None


def _number(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _flat(params: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows += _flat(value, f"{name}.")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                rows += _flat(item, f"{name}[{i}].")
        else:
            rows.append((name, value))
    return rows


def render(summary: dict[str, Any]) -> str:
    """A human-readable table of a calibration summary (``Calibration.as_dict()``)."""
    errors, intervals, flags = summary["std_errors"], summary.get("intervals", {}), summary.get("flags", {})

    def interval(name: str) -> str:
        if name not in intervals:
            return ""
        low, high = intervals[name]
        return f"[{_number(low)}, {_number(high)}]" + (" FLAGGED" if name in flags else "")

    rows = [
        (
            name,
            _number(value),
            _number(errors.get(name)) if name in errors else "",
            interval(name),
        )
        for name, value in _flat(summary["model"])
        if name != "type"
    ]
    width = max(len(name) for name, *_ in rows)
    lines = [
        f"model {summary['model']['type']} as of {summary['as_of']} ({summary['method']})",
        "",
        f"{'parameter':<{width}}  {'estimate':>12}  {'std error':>12}  "
        "95% interval (likelihood ratio unless noted)",
    ]
    lines += [f"{name:<{width}}  {value:>12}  {se:>12}  {ci}" for name, value, se, ci in rows]
    d = summary["diagnostics"]
    lines += [
        "",
        f"log-likelihood {_number(summary['loglik'])}   AIC {_number(summary['aic'])}   "
        f"BIC {_number(summary['bic'])}   observations {summary['n_obs']}",
    ]
    if "note" in d:
        lines.append(f"residuals: {d['note']}")
    else:
        lines += [
            f"residuals: mean {_number(d['mean'])}  std {_number(d['std'])}  skew {_number(d['skewness'])}  "
            f"excess kurtosis {_number(d['excess_kurtosis'])}",
            f"Ljung-Box({d['ljung_box_lags']}) p = {_number(d['ljung_box_pvalue'])}   "
            f"Jarque-Bera p = {_number(d['jarque_bera_pvalue'])}",
        ]
    lines += [f"note: {note}" for note in summary["notes"]]
    return "\n".join(lines)


@click.command("calibrate")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("--model", "model", type=click.Choice(MODELS), default="jump_ou", show_default=True)
@series_options
@click.option("--trend", is_flag=True, help="Fit a linear trend in f(t) (arithmetic_ou, jump_ou).")
@click.option(
    "--period",
    "periods",
    multiple=True,
    metavar="DURATION",
    help="Add a seasonal cosine of this period to f(t), e.g. 1D or 7D (repeatable).",
)
@click.option(
    "--method",
    type=click.Choice(["mle", "robust"]),
    default=None,
    help="jump_ou only: robust (the default: threshold fit, jump reversion free) or mle "
    "(jump-mixture likelihood, jump reversion = kappa).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print JSON (parameters in the pricing request format)."
)
def command(
    data: str,
    model: str,
    reading: SeriesReading,
    trend: bool,
    periods: tuple[str, ...],
    method: str | None,
    as_json: bool,
) -> None:
    """Fit MODEL to the prices in DATA by maximum likelihood and print parameters and diagnostics.

    The fitted model is valued at the last observation: paste its JSON "model" into a pricing
    request (see docs/backtesting.md and docs/pricing.md).
    """
    from api.cli import UserError
    from pricing.calibration import calibrate

    series = load_cli_series(data, reading)
    try:
        summary = calibrate(series, model, trend=trend, periods=periods, method=method).as_dict()
    except ValueError as exc:
        raise UserError(str(exc)) from None
    click.echo(json.dumps(summary, indent=2) if as_json else render(summary))
