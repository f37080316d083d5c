"""Loading, validation and resampling of price series."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pricing.series import SeriesError, infer_freq, load_series, make_series, resample, year_fractions

TRACKER = Path(__file__).resolve().parents[3] / "shared" / "data" / "gpu-price-tracker"
H100 = TRACKER / "H100_80GB_SXM5.jsonl"
needs_tracker = pytest.mark.skipif(not H100.is_file(), reason="gpu-price-tracker data not present")


def _csv(tmp_path: Path, rows: list[tuple[str, object]], header: str = "timestamp,price") -> Path:
    path = tmp_path / "prices.csv"
    path.write_text(header + "\n" + "".join(f"{t},{p}\n" for t, p in rows))
    return path


def test_csv_naive_timestamps_are_utc_and_aware_ones_converted(tmp_path: Path) -> None:
    path = _csv(tmp_path, [("2026-01-01 00:00", 2.0), ("2026-01-01T02:00:00+01:00", 2.5)])
    series = load_series(path)
    assert str(series.index.tz) == "UTC"
    assert list(series.index) == [pd.Timestamp("2026-01-01 00:00Z"), pd.Timestamp("2026-01-01 01:00Z")]
    assert list(series) == [2.0, 2.5]


def test_csv_custom_columns_and_missing_column_message(tmp_path: Path) -> None:
    path = _csv(tmp_path, [("2026-01-01", 2.0)], header="when,usd")
    assert load_series(path, time_column="when", price_column="usd").iloc[0] == 2.0
    with pytest.raises(SeriesError, match=r"no column 'timestamp'.*when, usd"):
        load_series(path)


def test_parquet_round_trip(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"timestamp": pd.date_range("2026-01-01", periods=3, freq="h", tz="UTC"), "price": [1.0, 2.0, 3.0]}
    )
    path = tmp_path / "p.parquet"
    frame.to_parquet(path)
    assert list(load_series(path)) == [1.0, 2.0, 3.0]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "no observations"),
        ([("2026-01-01", 0.0)], "positive and finite"),
        ([("2026-01-01", -1.0)], "positive and finite"),
        ([("2026-01-01", "nan")], "positive and finite"),
        ([("2026-01-01", "cheap")], "non-numeric"),
        ([("2026-01-02", 1.0), ("2026-01-01", 1.0)], "go backwards at row 1"),
        ([("yesterday", 1.0)], "unreadable timestamp"),
    ],
)
def test_bad_data_is_refused_with_a_clear_message(tmp_path: Path, rows: list, message: str) -> None:
    with pytest.raises(SeriesError, match=message):
        load_series(_csv(tmp_path, rows))


def test_sort_and_duplicate_rules() -> None:
    times = ["2026-01-01T01:00Z", "2026-01-01T00:00Z", "2026-01-01T01:00Z"]
    assert list(make_series(times, [1.0, 2.0, 3.0], sort=True)) == [2.0, 3.0]
    assert list(make_series(times, [1.0, 2.0, 3.0], sort=True, duplicates="mean")) == [2.0, 2.0]
    with pytest.raises(SeriesError, match="duplicate timestamp"):
        make_series(times[1:] + times[2:], [2.0, 3.0, 4.0], duplicates="error")
    assert list(make_series(times[1:] + times[2:], [2.0, 3.0, 4.0])) == [2.0, 4.0]


def test_resample_last_takes_the_price_posted_at_each_grid_point() -> None:
    series = make_series(["2026-01-01T00:10Z", "2026-01-01T00:50Z", "2026-01-01T02:20Z"], [1.0, 2.0, 3.0])
    hourly = resample(series, "1h")
    assert list(hourly.index.hour) == [1, 2]
    assert list(hourly) == [2.0, 2.0]
    means = resample(series, "1h", how="mean")
    assert list(means) == [1.5, 2.0]


def test_resample_gap_is_an_error_or_dropped() -> None:
    series = make_series(["2026-01-01T00:00Z", "2026-01-01T01:00Z", "2026-01-01T09:00Z"], [1.0, 2.0, 3.0])
    with pytest.raises(SeriesError, match=r"gap in the data.*2026-01-01 08:00"):
        resample(series, "1h", max_gap="6h")
    dropped = resample(series, "1h", max_gap="6h", on_gap="drop")
    assert list(dropped.index.hour) == [0, 1, 2, 3, 4, 5, 6, 7, 9]


def test_year_fractions_are_act365f() -> None:
    index = pd.DatetimeIndex(["2026-01-01", "2027-01-01"], tz="UTC")
    np.testing.assert_allclose(year_fractions(index, index[1]), [-1.0, 0.0])


def test_tracker_statistic_and_provider_errors(tmp_path: Path) -> None:
    record = {
        "timestamp": "2026-01-01T00:00:00+00:00",
        "price_stats": {"median": 2.0},
        "by_provider": {"acme": {"count": 1, "min": 1.9, "avg": 2.1}},
    }
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps(record) + "\n")
    assert load_series(path).iloc[0] == 2.0
    assert load_series(path, stat="provider:acme").iloc[0] == 2.1
    with pytest.raises(SeriesError, match=r"provider 'other' never listed.*acme"):
        load_series(path, stat="provider:other")
    with pytest.raises(SeriesError, match="unknown statistic 'p42'"):
        load_series(path, stat="p42")
    path.write_text('{"timestamp": "2026-01-01"}\n')
    with pytest.raises(SeriesError, match=r"x.jsonl:1: not a gpu-price-tracker record"):
        load_series(path)


@needs_tracker
def test_real_h100_median_loads_and_resamples_hourly() -> None:
    series = load_series(H100, stat="median")
    assert len(series) == 957
    assert series.index.is_monotonic_increasing
    assert series.min() > 1.0
    assert series.max() < 5.0
    hourly = resample(series, "1h")
    assert hourly.index.freq == pd.Timedelta("1h")
    assert 24 * 26 < len(hourly) < 24 * 28


@pytest.mark.parametrize(
    ("spacing", "expected"),
    [
        ("30min", "1h"),
        ("1h", "1h"),
        ("2h", "2h"),
        ("5h", "4h"),
        ("1D", "1D"),
        ("20h", "12h"),
        ("23h", "1D"),
        ("7D", "7D"),
    ],
)
def test_frequency_is_inferred_from_the_median_spacing(spacing: str, expected: str) -> None:
    index = pd.date_range("2025-01-01", periods=40, freq=spacing, tz="UTC")
    assert infer_freq(pd.Series(np.linspace(1.0, 2.0, 40), index=index)) == expected
