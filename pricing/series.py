"""Price series for calibration and backtests: loading, validation and resampling to a grid.

A price series is a ``pandas.Series`` of positive floats (USD per GPU-hour) on a strictly increasing,
timezone-aware UTC ``DatetimeIndex``. Everything downstream (calibration, backtests) takes that and
nothing else, so each source format is turned into it here and only here.

Resampling rules (see docs/backtesting.md):

- **Duplicates** (several observations with the same timestamp) keep the last one in file order,
  which is the latest report of that instant (``duplicates="mean"`` averages them, ``"error"``
  refuses them).
- **Grid value**: ``how="last"`` takes the last observation at or before each grid point, the price
  a buyer would have seen posted at that instant; ``how="mean"`` averages the observations in
  ``(point - freq, point]``.
- **Gaps**: a grid point whose latest observation is older than ``max_gap`` is a gap. By default a
  gap is an error that names it; ``on_gap="drop"`` leaves such points out (the result is then
  irregular, which every likelihood in :mod:`pricing.calibration` accepts).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

HOURS_PER_YEAR = 8760.0
"""ACT/365F: one year is 365 days of 24 hours."""

TRACKER_STATS = ("min", "p10", "p25", "median", "p75", "p90", "max", "mean")
"""The gpu-price-tracker ``price_stats`` fields; ``provider:NAME`` picks a provider's average instead."""

Format = Literal["auto", "csv", "parquet", "gpu-price-tracker"]


class SeriesError(ValueError):
    """The data cannot become a price series; the message says what is wrong and where."""


def load_series(
    path: str | Path,
    *,
    format: Format = "auto",
    stat: str = "median",
    time_column: str = "timestamp",
    price_column: str = "price",
    sort: bool = False,
    duplicates: Literal["last", "mean", "error"] = "last",
) -> pd.Series:
    """Read a validated price series from a CSV, Parquet or gpu-price-tracker JSON-lines file.

    ``stat`` applies to the gpu-price-tracker format only: one of :data:`TRACKER_STATS` or
    ``provider:NAME`` (that provider's average offer; snapshots where it lists nothing are skipped).
    Naive timestamps are read as UTC; aware ones are converted. Rows out of time order are an error
    unless ``sort`` is set, because a shuffled file usually means a wrong column or a bad merge.
    """
    path = Path(path)
    if not path.is_file():
        raise SeriesError(f"{path}: no such file")
    kind = _detect_format(path) if format == "auto" else format
    if kind == "gpu-price-tracker":
        times, prices = _read_tracker(path, stat)
    elif kind in ("csv", "parquet"):
        frame = pd.read_csv(path) if kind == "csv" else pd.read_parquet(path)
        for column in (time_column, price_column):
            if column not in frame.columns:
                raise SeriesError(
                    f"{path}: no column {column!r} (columns: {', '.join(map(str, frame.columns))}); "
                    "choose them with time_column= / price_column="
                )
        times, prices = frame[time_column].tolist(), frame[price_column].tolist()
    else:
        raise SeriesError(f"unknown format {format!r}: use csv, parquet, gpu-price-tracker or auto")
    return make_series(times, prices, source=str(path), sort=sort, duplicates=duplicates)


def make_series(
    times: Iterable[object],
    prices: Iterable[object],
    *,
    source: str = "series",
    sort: bool = False,
    duplicates: Literal["last", "mean", "error"] = "last",
) -> pd.Series:
    """Validate timestamps and prices into a price series (see the module docstring for the rules)."""
    try:
        index = pd.DatetimeIndex(pd.to_datetime(list(times), utc=True, format="ISO8601"))
    except (ValueError, TypeError) as exc:
        raise SeriesError(f"{source}: unreadable timestamp ({exc})") from exc
    try:
        values = np.asarray(list(prices), dtype=float)
    except (ValueError, TypeError) as exc:
        raise SeriesError(f"{source}: non-numeric price ({exc})") from exc
    if len(values) == 0:
        raise SeriesError(f"{source}: no observations")
    if index.hasnans:
        raise SeriesError(f"{source}: missing timestamp at row {int(np.argmax(index.isna()))}")
    bad = ~np.isfinite(values) | (values <= 0.0)
    if bad.any():
        row = int(np.argmax(bad))
        raise SeriesError(f"{source}: price must be positive and finite, got {values[row]} at {index[row]}")
    series = pd.Series(values, index=index, name="price")
    steps = np.diff(index.asi8)
    if (steps < 0).any():
        if not sort:
            row = int(np.argmax(steps < 0)) + 1
            raise SeriesError(
                f"{source}: timestamps go backwards at row {row} ({index[row - 1]} then {index[row]}); "
                "pass sort=True if the order does not matter"
            )
        series = series.sort_index(kind="stable")
    if series.index.has_duplicates:
        if duplicates == "error":
            raise SeriesError(f"{source}: duplicate timestamp {series.index[series.index.duplicated()][0]}")
        grouped = series.groupby(level=0, sort=True)
        series = grouped.last() if duplicates == "last" else grouped.mean()
        series.name = "price"
    series.index.name = "timestamp"
    return series


def resample(
    series: pd.Series,
    freq: str = "1h",
    *,
    how: Literal["last", "mean"] = "last",
    max_gap: str | pd.Timedelta = "6h",
    on_gap: Literal["error", "drop"] = "error",
) -> pd.Series:
    """Put a price series on a regular UTC grid of step ``freq`` (e.g. ``"1h"``, ``"1D"``).

    The grid runs over whole steps from the first observation (rounded up) to the last (rounded
    down). A point whose latest observation is older than ``max_gap`` is a gap (see module docstring).
    """
    step = duration(freq)
    limit = duration(max_gap)
    if step <= pd.Timedelta(0):
        raise SeriesError(f"resampling step must be positive, got {freq!r}")
    first, last = series.index[0].ceil(step), series.index[-1].floor(step)
    if first > last:
        raise SeriesError(f"series spans less than one {freq} step ({series.index[0]} to {series.index[-1]})")
    grid = pd.date_range(first, last, freq=step, tz="UTC", name="timestamp")
    observed = pd.Series(series.index, index=series.index)
    latest = observed.reindex(grid, method="ffill")
    if how == "last":
        values = series.reindex(grid, method="ffill")
    elif how == "mean":
        buckets = series.resample(step, closed="right", label="right").mean()
        values = buckets.reindex(grid).fillna(series.reindex(grid, method="ffill"))
    else:
        raise SeriesError(f"unknown resampling rule {how!r}: use 'last' or 'mean'")
    stale = (grid.to_series(index=grid) - latest) > limit
    if stale.any():
        if on_gap == "error":
            gap_at = grid[stale.to_numpy()][0]
            raise SeriesError(
                f"gap in the data: no observation within {limit} before {gap_at} "
                f"(raise max_gap= or pass on_gap='drop')"
            )
        values = values[~stale.to_numpy()]
    result = values.astype(float).rename("price")
    result.index.name = "timestamp"
    return result


GRIDS = ("1h", "2h", "3h", "4h", "6h", "12h", "1D", "7D")
"""Steps :func:`infer_freq` chooses from (hourly at the finest: posted prices change within hours)."""


def infer_freq(series: pd.Series) -> str:
    """The regular grid a series is read on: the coarsest of ``GRIDS`` not coarser than its median
    spacing (5% tolerance), so half-hourly snapshots are read hourly and daily closes daily."""
    if len(series) < 2:
        raise SeriesError("need at least two observations to infer the frequency")
    spacing = pd.Timedelta(series.index.to_series().diff().median())
    fitting = [grid for grid in GRIDS if duration(grid) <= spacing * 1.05]
    return fitting[-1] if fitting else GRIDS[0]


def duration(value: str | pd.Timedelta) -> pd.Timedelta:
    """A duration such as ``"1h"``, ``"7d"`` or ``"90min"`` (lower-case days accepted, as people write)."""
    if isinstance(value, pd.Timedelta):
        return value
    text = re.sub(r"(?<=\d)\s*d(ays?)?\b", "D", str(value).strip())
    try:
        return pd.Timedelta(text)
    except ValueError as exc:
        raise SeriesError(f"not a duration: {value!r} (use e.g. 1h, 1d, 7d)") from exc


def year_fractions(index: pd.DatetimeIndex, origin: pd.Timestamp) -> np.ndarray:
    """ACT/365F year fractions of ``index`` from ``origin`` (negative before it)."""
    return (index - origin) / pd.Timedelta(hours=HOURS_PER_YEAR)


def _detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "gpu-price-tracker"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".csv", ".txt"):
        return "csv"
    raise SeriesError(f"{path}: cannot tell the format from the suffix; pass format=")


def _read_tracker(path: Path, stat: str) -> tuple[list[str], list[float]]:
    provider = stat.removeprefix("provider:") if stat.startswith("provider:") else None
    if provider is None and stat not in TRACKER_STATS:
        choices = ", ".join(TRACKER_STATS)
        raise SeriesError(f"unknown statistic {stat!r}: use one of {choices} or provider:NAME")
    times: list[str] = []
    prices: list[float] = []
    seen_providers: set[str] = set()
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if provider is None:
                    price = record["price_stats"][stat]
                else:
                    offers = record.get("by_provider") or {}
                    seen_providers.update(offers)
                    if provider not in offers:
                        continue
                    price = offers[provider]["avg"]
                times.append(record["timestamp"])
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise SeriesError(f"{path}:{number}: not a gpu-price-tracker record ({exc!r})") from exc
            prices.append(price)
    if provider is not None and not times:
        names = ", ".join(sorted(seen_providers)) or "none"
        raise SeriesError(f"{path}: provider {provider!r} never listed (providers: {names})")
    return times, prices
