"""The clearing house: your margin calls and risk report; defaults, the fund and re-margining for
the operator."""

from __future__ import annotations

from typing import Literal

from litestar import Controller, get, post
from litestar.params import FromQuery

from api.announcements import announce_remargin
from api.auth import BEARER_SECURITY, Caller, authenticated, requires
from api.context import Ctx, call
from api.openapi import ADMIN, PRIVATE, problems
from api.schemas.clearing import (
    DefaultOut,
    DefaultsOut,
    FundOut,
    InstructionOut,
    MarginCallOut,
    RemarginOut,
    RiskOut,
)

CallStatus = Literal["open", "met", "liquidating", "closed"]


@get(
    "/v1/margin-calls",
    tags=["clearing"],
    summary="Your margin calls",
    guards=[authenticated],
    security=BEARER_SECURITY,
    responses=problems(*PRIVATE),
)
async def margin_calls(
    ctx: Ctx, principal: Caller, status: FromQuery[CallStatus | None] = None
) -> list[MarginCallOut]:
    """Your margin calls, newest first (optionally one ``status``)."""
    found = await call(ctx.exchange.margin_calls, principal.account_id, status)
    return [MarginCallOut.of(c) for c in found]


@get(
    "/v1/risk",
    tags=["clearing"],
    summary="Your risk report",
    guards=[authenticated],
    security=BEARER_SECURITY,
    responses=problems(*PRIVATE),
)
async def risk(ctx: Ctx, principal: Caller) -> RiskOut:
    """Greeks, VaR and ES (historical simulation and Monte Carlo), stress scenarios per product, and
    your portfolio margin breakdown at the last re-margining pass."""
    return RiskOut.of(await call(ctx.exchange.risk, principal.account_id))


class ClearingAdminController(Controller):
    """Needs the ``admin`` role."""

    path = "/v1/admin"
    tags = ("admin", "clearing")
    guards = (requires("admin"),)
    security = BEARER_SECURITY

    @get("/defaults", summary="Defaults and the default fund", responses=problems(*ADMIN))
    async def defaults(self, ctx: Ctx) -> DefaultsOut:
        """Every default with its waterfall step by step, and the fund's contributions and capital."""
        found = await call(ctx.exchange.defaults)
        fund = await call(ctx.exchange.default_fund)
        return DefaultsOut(defaults=[DefaultOut.of(d) for d in found], fund=FundOut.of(fund))

    @get(
        "/clearing-instructions",
        summary="The clearing pass's liquidation instructions to shards",
        responses=problems(*ADMIN),
    )
    async def instructions(
        self, ctx: Ctx, pending: FromQuery[bool] = False, limit: FromQuery[int] = 100
    ) -> list[InstructionOut]:
        """Newest first: what the elected clearing pass asked each book's shard to liquidate, and
        whether (and how) that shard did it (``pending=true``: only those still waiting)."""
        found = await call(ctx.exchange.clearing_instructions, pending, limit)
        return [InstructionOut.of(i) for i in found]

    @post("/remargin", status_code=200, summary="Run a re-margining pass", responses=problems(*ADMIN))
    async def remargin(self, ctx: Ctx) -> RemarginOut:
        """Mark, pay variation margin, set portfolio margins, review calls, liquidate past deadlines,
        resize the default fund and cover defaults -- in one transaction."""
        report = await call(ctx.exchange.remargin)
        await announce_remargin(ctx, report)
        return RemarginOut.of(report)
