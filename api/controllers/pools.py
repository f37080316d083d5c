"""Securitised pools: a provider forms a pool of its listings (its notes are issued at once and trade
on books like any instrument), anyone with a key reads pools and their reports, the sponsor reports
the capacity it rented at the index, and an admin can service due periods at once (the lifecycle's
``service_pools`` duty does it on its own). See docs/securitization.md."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import JSONBody

from api.announcements import announce_service
from api.auth import BEARER_SECURITY, Caller, authenticated, requires
from api.context import Ctx, call
from api.openapi import ADMIN, PRIVATE, problems
from api.pagination import CursorParam, LimitParam, Page, decode_cursor, page_of
from api.params import row_id
from api.schemas.pools import (
    PoolCreate,
    PoolOut,
    PoolReportOut,
    ServicedOut,
    ServiceOut,
    UsageReport,
)
from market.securitization.records import ServiceReport

PoolId = row_id("pool")


async def _serviced(ctx: Ctx, report: ServiceReport) -> ServiceOut:
    """Announce what the run did (as the lifecycle's run is announced) and render it."""
    await announce_service(ctx, report)
    return ServiceOut([ServicedOut(code, period) for code, period in report.serviced])


class PoolController(Controller):
    """Pools: formed by providers, read by every account."""

    path = "/v1/pools"
    tags = ("pools",)
    security = BEARER_SECURITY

    @post(
        "/",
        status_code=201,
        guards=[requires("provider")],
        summary="Form a pool and issue its notes",
        responses=problems(*ADMIN, 404, 409),
    )
    async def create(self, ctx: Ctx, principal: Caller, data: JSONBody[PoolCreate]) -> PoolOut:
        """Pool your listings (one product, not pooled before) over ``periods`` of ``period_months``
        from ``start`` (a month's first instant); each note is listed as ``CODE-TRANCHE`` and all its
        lots are yours to sell; the initial reserve comes from your available cash."""
        return PoolOut.of(await call(ctx.exchange.create_pool, principal.account_id, data.terms()))

    @get("/", guards=[authenticated], summary="List pools", responses=problems(*PRIVATE))
    async def list_pools(
        self, ctx: Ctx, cursor: CursorParam = None, limit: LimitParam = 100
    ) -> Page[PoolOut]:
        """Every pool, oldest first, with its notes and cash."""
        after = decode_cursor(cursor, int)
        pools = [p for p in await call(ctx.exchange.pools) if after is None or p.id > after]
        return page_of(pools[: limit + 1], limit, key=lambda p: p.id, render=PoolOut.of)

    @get("/{pool_id:int}", guards=[authenticated], summary="Get a pool", responses=problems(*PRIVATE, 404))
    async def get_pool(self, ctx: Ctx, pool_id: PoolId) -> PoolOut:
        """One pool: its terms, listings, notes (balances, face per lot, what each has paid), its cash
        and reserve, and when its next period is due."""
        return PoolOut.of(await call(ctx.exchange.pool, pool_id))

    @get(
        "/{pool_id:int}/report",
        guards=[authenticated],
        summary="A pool's periods, payments and triggers",
        responses=problems(*PRIVATE, 404),
    )
    async def report(self, ctx: Ctx, pool_id: PoolId) -> PoolReportOut:
        """Every serviced period (owed, remitted, paid by the waterfall, reserve, residue, breaches),
        every payment to a holder, the breached triggers and the pool's cash identity."""
        return PoolReportOut.of(await call(ctx.exchange.pool_report, pool_id))

    @post(
        "/{pool_id:int}/usage",
        status_code=200,
        guards=[requires("provider")],
        summary="Report capacity rented at the index",
        responses=problems(*ADMIN, 404),
    )
    async def usage(
        self, ctx: Ctx, principal: Caller, pool_id: PoolId, data: JSONBody[UsageReport]
    ) -> UsageReport:
        """As the pool's sponsor: the pooled GPU-hours you rented at the index in a period not yet
        serviced (at most what the pooled listings cover); servicing charges you that times the
        period's index average. A new report for the period replaces the last."""
        hours = await call(
            ctx.exchange.report_pool_usage, principal.account_id, pool_id, data.period, data.gpu_hours
        )
        return UsageReport(period=data.period, gpu_hours=hours)


class PoolAdminController(Controller):
    """Servicing on demand; needs the ``admin`` role."""

    path = "/v1/admin/pools"
    tags = ("admin",)
    guards = (requires("admin"),)
    security = BEARER_SECURITY

    @post(
        "/service", status_code=200, summary="Service every due pool period", responses=problems(*ADMIN, 409)
    )
    async def service_all(self, ctx: Ctx) -> ServiceOut:
        """Run every pool period whose end has passed through the waterfall (what the lifecycle's
        ``service_pools`` duty does); a second call changes nothing. On a shard that is not the elected
        clearing process: ``409 clearing_elsewhere``, nothing done."""
        return await _serviced(ctx, await call(ctx.exchange.service_pools))

    @post(
        "/{pool_id:int}/service",
        status_code=200,
        summary="Service a pool's due periods",
        responses=problems(*ADMIN, 404, 409),
    )
    async def service(self, ctx: Ctx, pool_id: PoolId) -> ServiceOut:
        """Run the pool's periods whose end has passed through the waterfall, oldest first
        (``409 clearing_elsewhere`` on a shard that is not the elected clearing process)."""
        return await _serviced(ctx, await call(ctx.exchange.service_pools, pool_id))
