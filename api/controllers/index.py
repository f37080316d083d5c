"""The reference index of a product: its fixings (public) and their ingestion (admin)."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from litestar import Controller, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery, JSONBody, QueryParameter

from api.announcements import announce_remargin
from api.auth import BEARER_SECURITY, requires
from api.context import ApiContext, Ctx, call
from api.errors import ApiError
from api.feeds import publish_index
from api.index_import import SUFFIXES, HistoryError, import_fixings, read_history
from api.openapi import ADMIN, problems
from api.pagination import CursorParam, LimitParam, Page, decode_cursor, encode_cursor
from api.schemas.common import Instant, ProductId
from api.schemas.market_data import FixingOut, FixingsAdded, FixingsCreate
from api.schemas.models import ModelOut
from market.errors import NotFoundError
from market.records import FixingsStored
from market.units import dollars_to_micros, from_epoch_us, to_epoch_us

MAX_IMPORT_BYTES = 8 * 1024 * 1024
"""Largest file ``POST /v1/index/{product}/fixings/import`` takes (a year of minute data fits)."""
MAX_IMPORT_ROWS = 200_000


class IndexController(Controller):
    """Index fixings per product, in USD per GPU-hour."""

    path = "/v1/index/{product:str}"
    tags = ("index",)

    @get("/", summary="Index fixings", responses=problems(404))
    async def fixings(
        self,
        ctx: Ctx,
        product: ProductId,
        start: FromQuery[Instant | None] = None,
        end: FromQuery[Instant | None] = None,
        cursor: CursorParam = None,
        limit: LimitParam = 100,
        revisions: FromQuery[bool] = False,
    ) -> Page[FixingOut]:
        """The fixings in ``[start, end)``, oldest first; ``revisions=true`` adds the superseded revisions
        of corrected fixings (the audit trail). ``not_found`` for a product that does not exist."""
        if start is not None and end is not None and end <= start:
            raise ApiError("invalid_window", "need start < end", field="start")
        products = await call(ctx.exchange.products)
        if all(p.id != product for p in products):
            raise NotFoundError(f"no product {product!r}", field="product")
        after = decode_cursor(cursor, int)
        if after is not None:
            resume = from_epoch_us(after) + timedelta(microseconds=1)
            start = resume if start is None else max(start, resume)
        found = await call(
            ctx.exchange.fixings, product, start=start, end=end, limit=limit + 1, revisions=revisions
        )
        more = len(found) > limit
        found = found[:limit]
        return Page(
            items=[FixingOut.of(f) for f in found],
            next_cursor=encode_cursor(to_epoch_us(found[-1].at)) if more and found else None,
        )

    @get("/model", summary="The market model behind the marks", responses=problems(400, 404))
    async def model(self, ctx: Ctx, product: ProductId) -> ModelOut:
        """The model that prices the product's marks, margins and quotes: chosen by out-of-sample score
        and recalibrated daily (``selected``), or the documented ``fallback`` with its reason; with its
        parameters, score, the ranking of every candidate and when it was calibrated. ``not_found``
        for an unknown product, ``no_mark`` before its first fixing."""
        return ModelOut.of(await call(ctx.exchange.product_model, product))

    @post(
        "/fixings",
        status_code=201,
        summary="Add index fixings",
        responses=problems(*ADMIN, 404),
        guards=[requires("admin")],
        security=BEARER_SECURITY,
    )
    async def add_fixings(self, ctx: Ctx, product: ProductId, data: JSONBody[FixingsCreate]) -> FixingsAdded:
        """Store observations of the index (e.g. from a price feed); corrections become revisions. When
        the index moved 5% or more since the last clearing pass, a pass runs before the answer."""
        fixings = [
            (f.at, dollars_to_micros(f.price, f"fixings[{i}].price")) for i, f in enumerate(data.fixings)
        ]
        stored = await call(ctx.exchange.add_fixings, product, fixings, data.source)
        await _fixings_changed(ctx, product, stored.added + stored.revised)
        return FixingsAdded(added=stored.added, revised=stored.revised)

    @post(
        "/fixings/import",
        status_code=201,
        summary="Import a price history as fixings",
        responses=problems(*ADMIN, 404, 413),
        guards=[requires("admin")],
        security=BEARER_SECURITY,
        request_max_body_size=MAX_IMPORT_BYTES,
    )
    async def import_history(
        self,
        ctx: Ctx,
        product: ProductId,
        data: Annotated[
            UploadFile,
            Body(
                media_type=RequestEncodingType.MULTI_PART,
                description="``file``: CSV, Parquet or gpu-price-tracker JSON lines (at most 8 MiB)",
            ),
        ],
        data_format: Annotated[
            Literal["csv", "parquet", "gpu-price-tracker"],
            QueryParameter(name="format", description="file format"),
        ],
        source: Annotated[
            str, QueryParameter(pattern=r"^[A-Za-z0-9_.:\-]{1,40}$", description="the fixings' source")
        ] = "import",
        stat: Annotated[
            str,
            QueryParameter(
                pattern=r"^(min|p10|p25|median|p75|p90|max|mean|provider:[A-Za-z0-9_.\-]{1,40})$",
                description="gpu-price-tracker statistic",
            ),
        ] = "median",
        time_column: Annotated[str, QueryParameter(min_length=1, max_length=64)] = "timestamp",
        price_column: Annotated[str, QueryParameter(min_length=1, max_length=64)] = "price",
    ) -> ImportOut:
        """Store every observation of a price history file (what ``flopex backtest`` reads; the same as
        ``flopex index import``) as a fixing: idempotent, repeats are skipped, a new price for a stored
        instant and source is a correction. At most 8 MiB and 200,000 observations; a file that
        cannot be read is ``400 invalid_request``."""
        body = await data.read()
        fixings = await call(_read_upload, body, data_format, stat, time_column, price_column)
        if all(p.id != product for p in await call(ctx.exchange.products)):
            raise NotFoundError(f"no product {product!r}", field="product")

        def store(chunk: Sequence[tuple[datetime, int]]) -> FixingsStored:
            return ctx.exchange.add_fixings(product, chunk, source)

        report = await call(import_fixings, store, fixings)
        await _fixings_changed(ctx, product, report.added + report.revised)
        return ImportOut(rows=report.rows, added=report.added, revised=report.revised)


class ImportOut(msgspec.Struct):
    """What an import stored: ``rows`` observations read, ``added`` new fixings, ``revised``
    corrections; the rest were stored already."""

    rows: int
    added: int
    revised: int


def _read_upload(
    body: bytes, data_format: str, stat: str, time_column: str, price_column: str
) -> list[tuple[datetime, int]]:
    """The observations of an uploaded file (read through a temporary file, as the CLI reads one)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{SUFFIXES[data_format]}"
        path.write_bytes(body)
        try:
            fixings = read_history(path, data_format, stat, time_column, price_column)
        except HistoryError as exc:
            raise ApiError("invalid_request", str(exc), field="body") from None
    if len(fixings) > MAX_IMPORT_ROWS:
        raise ApiError("invalid_request", f"at most {MAX_IMPORT_ROWS} observations per file", field="body")
    return fixings


async def _fixings_changed(ctx: ApiContext, product: str, changes: int) -> None:
    """Announce new fixings and marks; re-margin at once after a large move of the index."""
    await publish_index(ctx, product)
    if changes:  # a large move is re-margined now, not at the next pass
        report = await call(ctx.exchange.remargin_if_moved)
        if report is not None:
            await announce_remargin(ctx, report)
