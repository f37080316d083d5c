"""Products and instruments: public reads, admin writes."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.params import FromQuery, JSONBody, QueryParameter

from api.auth import BEARER_SECURITY, requires
from api.context import Ctx, call
from api.openapi import ADMIN, problems
from api.pagination import CursorParam, LimitParam, Page, decode_cursor, page_of
from api.schemas.common import ProductId, Symbol
from api.schemas.instruments import (
    ForwardCreate,
    InstrumentCreate,
    InstrumentOut,
    ProductCreate,
    ProductOut,
    SeriesCreate,
)
from api.standby import books_owner
from market.instruments import canonical_symbol
from market.units import dollars_to_micros, price_to_ticks

admin_only = {"guards": [requires("admin")], "security": BEARER_SECURITY}


class ProductController(Controller):
    """GPU classes."""

    path = "/v1/products"
    tags = ("instruments",)

    @get("/", summary="List products", responses=problems())
    async def list_products(
        self, ctx: Ctx, cursor: CursorParam = None, limit: LimitParam = 100
    ) -> Page[ProductOut]:
        """Every product, by id."""
        after = decode_cursor(cursor, str)
        products = [p for p in await call(ctx.exchange.products) if after is None or p.id > after]
        return page_of(products[: limit + 1], limit, key=lambda p: p.id, render=ProductOut.of)

    @post("/", status_code=201, summary="Create a product", responses=problems(*ADMIN, 409), **admin_only)
    async def create_product(self, ctx: Ctx, data: JSONBody[ProductCreate]) -> ProductOut:
        """Register a GPU class such as ``H100``."""
        collateral = dollars_to_micros(data.collateral_per_gpu_day, "collateral_per_gpu_day")
        return ProductOut.of(
            await call(ctx.exchange.create_product, data.id, data.description, data.region, collateral)
        )


class InstrumentController(Controller):
    """Forwards and options."""

    path = "/v1/instruments"
    tags = ("instruments",)

    @get("/", summary="List instruments", responses=problems())
    async def list_instruments(
        self,
        ctx: Ctx,
        state: State,
        product: FromQuery[ProductId | None] = None,
        kind: Annotated[Literal["forward", "option", "asian"] | None, QueryParameter(name="type")] = None,
        status: FromQuery[Literal["open", "halted", "expired", "settled"] | None] = None,
        cursor: CursorParam = None,
        limit: LimitParam = 100,
    ) -> Page[InstrumentOut]:
        """Instruments by product, delivery start and symbol; filter by ``product``, ``type``, ``status``.
        ``owner`` names the process holding each book (see docs/scaling.md)."""
        after = decode_cursor(cursor, str)
        found = await call(ctx.exchange.instruments, product=product, kind=kind, status=status)
        if after is not None:
            symbols = [i.symbol for i in found]
            if after not in symbols:
                return Page(items=[], next_cursor=None)
            found = found[symbols.index(after) + 1 :]
        return page_of(
            found[: limit + 1],
            limit,
            key=lambda i: i.symbol,
            render=lambda i: InstrumentOut.of(i, books_owner(state.presence, ctx.exchange, i.product)),
        )

    @get("/{symbol:str}", summary="Get an instrument", responses=problems(404))
    async def get_instrument(self, ctx: Ctx, state: State, symbol: Symbol) -> InstrumentOut:
        """One instrument; any equivalent spelling of an option's strike finds it (``C1.300`` is
        ``C1.30``), and the answer carries the canonical symbol and its book's ``owner``."""
        info = await call(ctx.exchange.instrument, canonical_symbol(symbol))
        return InstrumentOut.of(info, books_owner(state.presence, ctx.exchange, info.product))

    @post(
        "/",
        status_code=201,
        summary="Create an instrument",
        responses=problems(*ADMIN, 404, 409),
        **admin_only,
    )
    async def create_instrument(self, ctx: Ctx, data: JSONBody[InstrumentCreate]) -> InstrumentOut:
        """A forward (``type: forward``) or an option on one (``type: option``)."""
        if isinstance(data, ForwardCreate):
            info = await call(
                ctx.exchange.create_forward,
                data.product,
                data.window,
                data.start,
                data.settlement,
                tick_micros=dollars_to_micros(data.tick, "tick"),
                lot_gpus=data.lot_gpus,
                maker_fee_ppm=data.maker_fee_ppm,
                taker_fee_ppm=data.taker_fee_ppm,
            )
        else:
            strike = price_to_ticks(data.strike, await ctx.tick_micros(data.underlying), "strike")
            info = await call(
                ctx.exchange.create_option,
                data.underlying,
                data.option_kind,
                strike,
                style=data.style,
                expiry_business_days=data.expiry_business_days,
            )
        return InstrumentOut.of(info)

    @post(
        "/series",
        status_code=201,
        summary="Create a rolling series",
        responses=problems(*ADMIN, 404),
        **admin_only,
    )
    async def create_series(self, ctx: Ctx, data: JSONBody[SeriesCreate]) -> list[InstrumentOut]:
        """The next months, ISO weeks and days of a product; windows that exist are skipped."""
        created = await call(
            ctx.exchange.create_series,
            data.product,
            months=data.months,
            weeks=data.weeks,
            days=data.days,
            settlement=data.settlement,
            tick_micros=dollars_to_micros(data.tick, "tick"),
            lot_gpus=data.lot_gpus,
        )
        return [InstrumentOut.of(i) for i in created]
