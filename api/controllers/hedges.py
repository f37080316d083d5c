"""The buyer's desk: ``POST /v1/hedges`` turns a plan into orders; follow, re-plan or cancel it."""

from __future__ import annotations

from litestar import Controller, delete, get, post
from litestar.params import JSONBody

from api.auth import BEARER_SECURITY, Caller, authenticated
from api.context import Ctx, call
from api.controllers.accounts import IdempotencyKey
from api.openapi import PRIVATE, problems
from api.pagination import CursorParam, LimitParam, Page, owned_page
from api.params import row_id
from api.publish import announce
from api.schemas.hedges import HedgeCreate, HedgeOut, HedgeReplan
from market.hedges.records import HedgeInfo, HedgeRequest, HedgeTarget, PlanRequest
from market.units import dollars_to_micros

MAX_HEDGE_BYTES = 4 * 1024 * 1024
"""Largest body of ``POST /v1/hedges``: a forecast of four products, hourly for three months, with
three quantiles a row (about 1 MiB), fits with room."""

HedgeId = row_id("hedge")


class HedgeController(Controller):
    """Execute, follow, re-plan and cancel your hedges."""

    path = "/v1/hedges"
    tags = ("hedges",)
    guards = (authenticated,)
    security = BEARER_SECURITY

    @post(
        "/",
        status_code=201,
        summary="Execute a hedge plan",
        responses=problems(*PRIVATE, 403, 404, 409, 413, 422),
        request_max_body_size=MAX_HEDGE_BYTES,
    )
    async def create(
        self, ctx: Ctx, principal: Caller, data: JSONBody[HedgeCreate], idempotency_key: IdempotencyKey = None
    ) -> HedgeOut:
        """Place a good-till-cancelled limit buy per leg of the plan -- ``positions`` from ``flopex hedge
        plan``, or a ``plan`` request the exchange plans itself -- at the price the book fills it at,
        never above the mark plus ``max_slippage_bps``; within the account's available cash (``means``).
        With an ``Idempotency-Key`` a retry returns the first hedge, across restarts too."""
        plan = None
        if data.plan is not None:
            p = data.plan
            budget = None if p.budget is None else dollars_to_micros(p.budget, "plan.budget")
            plan = PlanRequest(p.forecast, p.objective, p.alpha, budget, p.scenarios, p.seed)
        request = HedgeRequest(
            targets=tuple(HedgeTarget(t.symbol, t.gpus) for t in data.positions or ()),
            plan=plan,
            slippage_ppm=data.max_slippage_bps * 100,
            means=data.means,
            idempotency_key=idempotency_key,
        )
        return await _answer(ctx, await call(ctx.exchange.execute_hedge, principal.account_id, request))

    @get("/", summary="List your hedges", responses=problems(*PRIVATE))
    async def list_hedges(
        self, ctx: Ctx, principal: Caller, cursor: CursorParam = None, limit: LimitParam = 20
    ) -> Page[HedgeOut]:
        """Your hedges, oldest first, each with its legs, orders, fills and remaining exposure."""
        return await owned_page(
            ctx.exchange.hedges, principal.account_id, cursor, limit, key=lambda h: h.id, render=HedgeOut.of
        )

    @get("/{hedge_id:int}", summary="Get a hedge", responses=problems(*PRIVATE, 404))
    async def get_hedge(self, ctx: Ctx, principal: Caller, hedge_id: HedgeId) -> HedgeOut:
        """The plan, the orders of every round with their fills, the cost to date and what is left."""
        return HedgeOut.of(await call(ctx.exchange.hedge, principal.account_id, hedge_id))

    @post(
        "/{hedge_id:int}/replan",
        status_code=200,
        summary="Re-plan what is left of a hedge",
        responses=problems(*PRIVATE, 404, 409, 422),
    )
    async def replan(
        self, ctx: Ctx, principal: Caller, hedge_id: HedgeId, data: JSONBody[HedgeReplan]
    ) -> HedgeOut:
        """Cancel the hedge's resting orders and place what is left of its targets at fresh limits, as
        a new round; a hedge the exchange planned is first planned again (the forecast's periods still
        to come, the market now, the GPUs bought so far kept)."""
        slippage = None if data.max_slippage_bps is None else data.max_slippage_bps * 100
        hedge = await call(ctx.exchange.replan_hedge, principal.account_id, hedge_id, slippage)
        return await _answer(ctx, hedge)

    @delete("/{hedge_id:int}", status_code=200, summary="Cancel a hedge", responses=problems(*PRIVATE, 404))
    async def cancel(self, ctx: Ctx, principal: Caller, hedge_id: HedgeId) -> HedgeOut:
        """Cancel the hedge's resting orders; what is filled stays bought."""
        return await _answer(ctx, await call(ctx.exchange.cancel_hedge, principal.account_id, hedge_id))


async def _answer(ctx: Ctx, hedge: HedgeInfo) -> HedgeOut:
    """Announce the hedge's orders on the stream (a round may fill, place and cancel them), then
    render the hedge."""
    await announce(ctx, [o.order for o in hedge.orders if o.order is not None])
    return HedgeOut.of(hedge)
