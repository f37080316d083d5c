"""An account's fills, positions, ledger and deliveries."""

from __future__ import annotations

import functools
from typing import Annotated, Literal

from litestar import Controller, get
from litestar.params import FromQuery, QueryParameter

from api.auth import BEARER_SECURITY, Caller, authenticated
from api.context import Ctx, call
from api.openapi import PRIVATE, problems
from api.pagination import (
    HISTORY,
    CursorParam,
    LimitParam,
    Page,
    Paging,
    owned_page,
)
from api.schemas.common import Instant
from api.schemas.orders import FillOut
from api.schemas.portfolio import DeliveryOut, EntryOut, PositionOut, StatementOut
from market.statements import MAX_LINES, to_csv


class PortfolioController(Controller):
    """What you traded, hold, paid and receive."""

    path = "/v1"
    tags = ("portfolio",)
    guards = (authenticated,)
    security = BEARER_SECURITY

    @get("/fills", summary="Your fills", responses=problems(*PRIVATE), dependencies=HISTORY)
    async def fills(self, ctx: Ctx, principal: Caller, history: Paging) -> Page[FillOut]:
        """Your fills in ``[start, end)``, oldest first (``order=desc``: newest first)."""
        fetch, h = ctx.exchange.fills, history
        return await owned_page(
            fetch, principal.account_id, h.cursor, h.limit, lambda f: f.trade_id, FillOut.of, span=h.span
        )

    @get("/positions", summary="Your positions", responses=problems(*PRIVATE))
    async def positions(
        self,
        ctx: Ctx,
        principal: Caller,
        cursor: CursorParam = None,
        limit: LimitParam = 100,
        held: Annotated[Literal["open", "closed"], QueryParameter(name="state")] = "open",
    ) -> Page[PositionOut]:
        """Your net positions (long positive) by symbol, with cost, margin held, average price, mark
        and realised/unrealised P&L; ``state=closed`` lists the flat, delivered and settled ones."""
        fetch = functools.partial(ctx.exchange.positions, state=held)
        return await owned_page(
            fetch, principal.account_id, cursor, limit, lambda p: p.symbol, PositionOut.of, str
        )

    @get("/ledger", summary="Your ledger entries", responses=problems(*PRIVATE), dependencies=HISTORY)
    async def ledger(self, ctx: Ctx, principal: Caller, history: Paging) -> Page[EntryOut]:
        """Every movement of your cash between buckets (available, reserved, margin) in
        ``[start, end)``, oldest first (``order=desc``: newest first)."""
        fetch, h = ctx.exchange.ledger, history
        return await owned_page(
            fetch, principal.account_id, h.cursor, h.limit, lambda e: e.id, EntryOut.of, span=h.span
        )

    @get("/statement", summary="Your statement", responses=problems(*PRIVATE))
    async def statement(
        self,
        ctx: Ctx,
        principal: Caller,
        start: FromQuery[Instant | None] = None,
        end: FromQuery[Instant | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_LINES)] = 1000,
    ) -> StatementOut:
        """One line per business event (a deposit, an order's fills and fees, a settlement, a delivery
        day paid or refunded) with the running balance of your cash, over ``[start, end)``."""
        fetch = ctx.exchange.statement
        return StatementOut.of(await call(fetch, principal.account_id, start=start, end=end, limit=limit))

    @get(
        "/statement.csv", summary="Your statement as CSV", media_type="text/csv", responses=problems(*PRIVATE)
    )
    async def statement_csv(
        self,
        ctx: Ctx,
        principal: Caller,
        start: FromQuery[Instant | None] = None,
        end: FromQuery[Instant | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_LINES)] = MAX_LINES,
    ) -> str:
        """The statement as CSV: ``id,at,kind,ref,symbol,qty,amount,balance``, the opening balance first."""
        fetch = ctx.exchange.statement
        return to_csv(await call(fetch, principal.account_id, start=start, end=end, limit=limit))

    @get("/deliveries", summary="Your deliveries", responses=problems(*PRIVATE))
    async def deliveries(
        self, ctx: Ctx, principal: Caller, cursor: CursorParam = None, limit: LimitParam = 100
    ) -> Page[DeliveryOut]:
        """GPUs allocated to you as a buyer, or from your listings as a provider."""
        fetch = ctx.exchange.deliveries
        return await owned_page(fetch, principal.account_id, cursor, limit, lambda d: d.id, DeliveryOut.of)
