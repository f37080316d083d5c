"""Operator routes: the market's invariants (and settlement, once the service runs it)."""

from __future__ import annotations

import msgspec
from litestar import Controller, get

from api.auth import BEARER_SECURITY, requires
from api.context import Ctx, call
from api.openapi import ADMIN, problems


class CheckOut(msgspec.Struct):
    """``ok`` is true when no invariant is breached; ``breaches`` says what is wrong otherwise."""

    ok: bool
    breaches: list[str]


class AdminController(Controller):
    """Needs the ``admin`` role."""

    path = "/v1/admin"
    tags = ("admin",)
    guards = (requires("admin"),)
    security = BEARER_SECURITY

    @get("/check", summary="Check the invariants", responses=problems(*ADMIN))
    async def check(self, ctx: Ctx) -> CheckOut:
        """Ledger sums to zero, no negative balance, orders and inventory consistent, escrow owed."""
        breaches = await call(ctx.exchange.check)
        return CheckOut(ok=not breaches, breaches=breaches)
