"""Operator routes: run settlement, see the lifecycle's duties, check the invariants."""

from __future__ import annotations

import msgspec
from litestar import Controller, get, post

from api.announcements import announce_settlement
from api.auth import BEARER_SECURITY, requires
from api.context import Ctx, call
from api.openapi import ADMIN, problems
from api.schemas.common import mirror
from market.lifecycle.jobs import JobInfo


class CheckOut(msgspec.Struct):
    """``ok`` is true when no invariant is breached; ``breaches`` says what is wrong otherwise."""

    ok: bool
    breaches: list[str]


class SettlementOut(msgspec.Struct):
    """The instruments each settlement step touched (empty when nothing was due)."""

    expired: list[str]
    delivered: list[str]
    cash_settled: list[str]
    exercised: list[str]


JobOut = mirror(
    JobInfo,
    "JobOut",
    __name__,
    "One lifecycle duty: its last run (start, end, outcome, what it did or the error) and next run.",
)


class AdminController(Controller):
    """Needs the ``admin`` role."""

    path = "/v1/admin"
    tags = ("admin",)
    guards = (requires("admin"),)
    security = BEARER_SECURITY

    @post("/settle", status_code=200, summary="Run settlement", responses=problems(*ADMIN))
    async def settle(self, ctx: Ctx) -> SettlementOut:
        """Expire, deliver, cash-settle and exercise what is due now; a second run changes nothing."""
        report = await call(ctx.exchange.settle)
        await announce_settlement(ctx, report)
        return SettlementOut(
            expired=list(report.expired),
            delivered=list(report.delivered),
            cash_settled=list(report.cash_settled),
            exercised=list(report.exercised),
        )

    @get("/jobs", summary="Lifecycle duties", responses=problems(*ADMIN))
    async def jobs(self, ctx: Ctx) -> list[JobOut]:
        """Each duty of the lifecycle with its last run, outcome and next run (empty before the first
        pass)."""
        return [JobOut.of(j) for j in await call(ctx.lifecycle.status)]

    @get("/check", summary="Check the invariants", responses=problems(*ADMIN))
    async def check(self, ctx: Ctx) -> CheckOut:
        """Ledger sums to zero, no negative balance, orders and inventory consistent, escrow owed."""
        breaches = await call(ctx.exchange.check)
        return CheckOut(ok=not breaches, breaches=breaches)
