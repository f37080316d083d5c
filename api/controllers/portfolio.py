"""An account's fills, positions, ledger and deliveries."""

from __future__ import annotations

from litestar import Controller, get

from api.auth import BEARER_SECURITY, Caller, authenticated
from api.context import Ctx
from api.openapi import PRIVATE, problems
from api.pagination import CursorParam, LimitParam, Page, owned_page
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
        fetch = ctx.exchange.fills
        return await owned_page(fetch, principal.account_id, cursor, limit, lambda f: f.trade_id, FillOut.of)

    @get("/positions", summary="Your positions", responses=problems(*PRIVATE))
    async def positions(
        self, ctx: Ctx, principal: Caller, cursor: CursorParam = None, limit: LimitParam = 100
    ) -> Page[PositionOut]:
        """Your net positions (long positive) by symbol, with cost and margin held."""
        fetch = ctx.exchange.positions
        return await owned_page(
            fetch, principal.account_id, cursor, limit, lambda p: p.symbol, PositionOut.of, str
        )

    @get("/ledger", summary="Your ledger entries", responses=problems(*PRIVATE))
    async def ledger(
        self, ctx: Ctx, principal: Caller, cursor: CursorParam = None, limit: LimitParam = 100
    ) -> Page[EntryOut]:
        """Every movement of your cash between buckets (available, reserved, margin), oldest first."""
        return await owned_page(
            ctx.exchange.ledger, principal.account_id, cursor, limit, lambda e: e.id, EntryOut.of
        )

    @get("/deliveries", summary="Your deliveries", responses=problems(*PRIVATE))
    async def deliveries(
        self, ctx: Ctx, principal: Caller, cursor: CursorParam = None, limit: LimitParam = 100
    ) -> Page[DeliveryOut]:
        """GPUs allocated to you as a buyer, or from your listings as a provider."""
        fetch = ctx.exchange.deliveries
        return await owned_page(fetch, principal.account_id, cursor, limit, lambda d: d.id, DeliveryOut.of)
