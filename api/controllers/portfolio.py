"""An account's fills, positions, ledger and deliveries."""

from __future__ import annotations

from litestar import Controller, get

from api.auth import BEARER_SECURITY, Caller, authenticated
from api.context import Ctx, call
from api.openapi import PRIVATE, problems
from api.pagination import CursorParam, LimitParam, Page, decode_cursor, page_of
from api.schemas.orders import FillOut
from api.schemas.portfolio import DeliveryOut, EntryOut, PositionOut


class PortfolioController(Controller):
    """What you traded, hold, paid and receive."""

    path = "/v1"
    tags = ("portfolio",)
    guards = (authenticated,)
    security = BEARER_SECURITY

    @get("/fills", summary="Your fills", responses=problems(*PRIVATE))
    async def fills(
        self, ctx: Ctx, principal: Caller, cursor: CursorParam = None, limit: LimitParam = 100
    ) -> Page[FillOut]:
        """Your fills, oldest first."""
        after = decode_cursor(cursor, int)
        fills = await call(ctx.exchange.fills, principal.account_id, after=after, limit=limit + 1)
        return page_of(fills, limit, key=lambda fill: fill.trade_id, render=FillOut.of)

    @get("/positions", summary="Your positions", responses=problems(*PRIVATE))
    async def positions(
        self, ctx: Ctx, principal: Caller, cursor: CursorParam = None, limit: LimitParam = 100
    ) -> Page[PositionOut]:
        """Your net positions (long positive) by symbol, with cost and margin held."""
        after = decode_cursor(cursor, str)
        found = [
            p
            for p in await call(ctx.exchange.positions, principal.account_id)
            if after is None or p.symbol > after
        ]
        return page_of(found[: limit + 1], limit, key=lambda p: p.symbol, render=PositionOut.of)

    @get("/ledger", summary="Your ledger entries", responses=problems(*PRIVATE))
    async def ledger(
        self, ctx: Ctx, principal: Caller, cursor: CursorParam = None, limit: LimitParam = 100
    ) -> Page[EntryOut]:
        """Every movement of your cash between buckets (available, reserved, margin), oldest first."""
        after = decode_cursor(cursor, int)
        entries = await call(ctx.exchange.ledger, principal.account_id, after=after, limit=limit + 1)
        return page_of(entries, limit, key=lambda entry: entry.id, render=EntryOut.of)

    @get("/deliveries", summary="Your deliveries", responses=problems(*PRIVATE))
    async def deliveries(
        self, ctx: Ctx, principal: Caller, cursor: CursorParam = None, limit: LimitParam = 100
    ) -> Page[DeliveryOut]:
        """GPUs allocated to you as a buyer, or from your listings as a provider."""
        after = decode_cursor(cursor, int)
        found = [
            d
            for d in await call(ctx.exchange.deliveries, principal.account_id)
            if after is None or d.id > after
        ]
        return page_of(found[: limit + 1], limit, key=lambda d: d.id, render=DeliveryOut.of)
