"""The reference index of a product: its fixings (public) and their ingestion (admin)."""

from __future__ import annotations

from datetime import timedelta

from litestar import Controller, get, post
from litestar.params import FromQuery, JSONBody

from api.announcements import announce_remargin
from api.auth import BEARER_SECURITY, requires
from api.context import Ctx, call
from api.errors import ApiError
from api.feeds import publish_index
from api.openapi import ADMIN, problems
from api.pagination import CursorParam, LimitParam, Page, decode_cursor, encode_cursor
from api.schemas.common import Instant, ProductId
from api.schemas.market_data import FixingOut, FixingsAdded, FixingsCreate
from api.schemas.models import ModelOut
from market.errors import NotFoundError
from market.units import dollars_to_micros, from_epoch_us, to_epoch_us


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
        await publish_index(ctx, product)
        if stored.added or stored.revised:  # a large move is re-margined now, not at the next pass
            report = await call(ctx.exchange.remargin_if_moved)
            if report is not None:
                await announce_remargin(ctx, report)
        return FixingsAdded(added=stored.added, revised=stored.revised)
