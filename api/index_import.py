"""A price history file as index fixings: what ``flopex index import`` and
``POST /v1/index/{product}/fixings/import`` share.

The file is read by :func:`pricing.series.load_series`, the reader of ``flopex backtest`` (CSV,
Parquet, gpu-price-tracker JSON lines), so whatever a backtest reads can be loaded as the index it
was run on. Every observation becomes one fixing, its price rounded to the micro-dollar; fixings are
stored in chunks, each one transaction, and a repeat is skipped, so importing the same file twice
adds nothing (an import that stopped half way is finished by running it again).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from market.records import FixingsStored
from market.units import dollars_to_micros

CHUNK = 1_000
"""Fixings stored per transaction."""

FORMATS = ("csv", "parquet", "gpu-price-tracker")
SUFFIXES = {"csv": ".csv", "parquet": ".parquet", "gpu-price-tracker": ".jsonl"}
_MICRO = Decimal("0.000001")


class HistoryError(ValueError):
    """The file cannot be read as a price history; the message says why."""


@dataclass(frozen=True)
class ImportReport:
    """What an import did: ``rows`` observations read, ``added`` new fixings, ``revised`` corrections
    of stored ones (the rest were already stored)."""

    rows: int
    added: int
    revised: int


def read_history(
    path: str | Path,
    data_format: str = "auto",
    stat: str = "median",
    time_column: str = "timestamp",
    price_column: str = "price",
) -> list[tuple[datetime, int]]:
    """The observations of a price file as ``(instant, micro-dollars per GPU-hour)``, oldest first."""
    from pricing.series import load_series

    try:
        series = load_series(
            path, format=data_format, stat=stat, time_column=time_column, price_column=price_column, sort=True
        )
    except Exception as exc:  # any reader's failure (pandas, pyarrow, json) is the file's fault
        raise HistoryError(f"cannot read {Path(path).name}: {exc}") from None
    return [(moment.to_pydatetime(), _micros(price)) for moment, price in series.items()]


def _micros(price: Any) -> int:
    """A file's price (a positive finite float) as micro-dollars, to the nearest micro-dollar; a price
    too large for the micro-dollar grid (1e300) is the file's fault, not a decimal error (a 500)."""
    try:
        text = str(Decimal(repr(float(price))).quantize(_MICRO, rounding=ROUND_HALF_EVEN))
    except InvalidOperation:
        raise HistoryError(f"price {price!r} is out of range") from None
    return dollars_to_micros(text, "price")


def import_fixings(
    store: Callable[[Sequence[tuple[datetime, int]]], FixingsStored],
    fixings: Sequence[tuple[datetime, int]],
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Store ``fixings`` through ``store`` (``Exchange.add_fixings`` bound to a product and a source)
    in chunks of :data:`CHUNK`, calling ``progress`` with each chunk's size."""
    added = revised = 0
    for start in range(0, len(fixings), CHUNK):
        chunk = fixings[start : start + CHUNK]
        stored = store(chunk)
        added += stored.added
        revised += stored.revised
        if progress is not None:
            progress(len(chunk))
    return ImportReport(len(fixings), added, revised)
