"""``flopex index import FILE --product P``: load a price history (CSV, Parquet, gpu-price-tracker
JSON lines: what ``flopex backtest`` reads) into the database as the product's index fixings.

Added to the ``flopex index`` group by :mod:`api.cli.index`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import click

from api.cli._options import database_option
from api.cli.calibrate import file_options

if TYPE_CHECKING:
    from api.index_import import ImportReport
    from market.records import FixingsStored
    from market.service import Exchange


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--product", required=True, help="The product whose index the file holds (e.g. H100).")
@file_options
@click.option("--source", default="import", show_default=True, help="The fixings' source name.")
@database_option
def import_file(
    file: str,
    product: str,
    data_format: str,
    stat: str,
    time_column: str,
    price_column: str,
    source: str,
    database_url: str | None,
) -> None:
    """Store every observation of FILE as a fixing of PRODUCT, with a progress bar. Idempotent:
    fixings already stored are skipped, so running it again adds nothing (and finishes an import
    that stopped half way); a different price for a stored instant and source is a correction."""
    from tqdm import tqdm

    from api.cli import UserError
    from api.cli.admin import _with_exchange
    from api.index_import import HistoryError, import_fixings, read_history

    try:
        fixings = read_history(file, data_format, stat, time_column, price_column)
    except HistoryError as exc:
        raise UserError(str(exc)) from None

    def load(exchange: Exchange) -> ImportReport:
        def store(chunk: Sequence[tuple[datetime, int]]) -> FixingsStored:
            return exchange.add_fixings(product, chunk, source)

        with tqdm(total=len(fixings), desc=f"{product} fixings", unit="fixing", disable=None) as bar:
            return import_fixings(store, fixings, bar.update)

    report = _with_exchange(database_url, load)
    skipped = report.rows - report.added - report.revised
    click.echo(
        f"{product}: {report.rows} observations, {report.added} fixings added, {report.revised} revised,"
        f" {skipped} already stored"
    )
