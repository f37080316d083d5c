"""A product's lifecycle plan: anyone may read it, admins change it (the roll applies it at once)."""

from __future__ import annotations

from litestar import Controller, get, patch
from litestar.params import JSONBody

from api.auth import BEARER_SECURITY, requires
from api.context import Ctx, call
from api.openapi import ADMIN, problems
from api.schemas.common import ProductId
from api.schemas.plans import PlanChange, PlanOut
from market.units import to_epoch_us


class PlanController(Controller):
    """What the lifecycle keeps listed for a product."""

    path = "/v1/products/{product:str}/plan"
    tags = ("instruments", "lifecycle")

    @get("/", summary="A product's lifecycle plan", responses=problems(404))
    async def get_plan(self, ctx: Ctx, product: ProductId) -> PlanOut:
        """The months, weeks and days of forwards the roll keeps listed, the option strikes it writes and
        how old the index may get before marks are flagged stale (the default plan unless one was set)."""
        return PlanOut.of(product, await call(ctx.exchange.product_schedule, product))

    @patch(
        "/",
        summary="Change a product's lifecycle plan",
        responses=problems(*ADMIN, 404),
        guards=[requires("admin")],
        security=BEARER_SECURITY,
    )
    async def change_plan(self, ctx: Ctx, product: ProductId, data: JSONBody[PlanChange]) -> PlanOut:
        """Set the fields given (the others keep their value). The roll runs on the lifecycle's next pass;
        it lists what the plan now asks for and never delists what is listed."""
        plan = data.applied_to(await call(ctx.exchange.product_schedule, product))
        stored = await call(ctx.exchange.set_product_schedule, product, plan)
        await call(ctx.lifecycle.jobs.bring_forward, "roll", to_epoch_us(ctx.exchange.now()))
        return PlanOut.of(product, stored)
