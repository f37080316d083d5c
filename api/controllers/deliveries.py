"""Physical delivery, day by day: the provider attaches access, the buyer confirms or disputes each
day, an admin decides disputes, and the delivery duty fails days left without access."""

from __future__ import annotations

from datetime import UTC, date, datetime

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody

from api.announcements import announce_deliveries
from api.auth import BEARER_SECURITY, Caller, authenticated, requires
from api.context import Ctx, call
from api.openapi import ADMIN, PRIVATE, problems
from api.params import row_id
from api.schemas.deliveries import (
    AccessAttach,
    DeliveryReportOut,
    DisputeCreate,
    DisputeResolve,
    UpcomingDeliveryOut,
)
from api.schemas.portfolio import DeliveryOut
from market.errors import InvalidRequestError
from market.units import to_epoch_us

DeliveryId = row_id("delivery")


def day_us(text: str) -> int:
    """A delivery day given as ``YYYY-MM-DD`` (UTC) in microseconds; ``invalid_request`` otherwise."""
    try:
        return to_epoch_us(datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC))
    except ValueError:
        raise InvalidRequestError("a day is a UTC date, YYYY-MM-DD", field="day") from None


class DeliveryController(Controller):
    """Your deliveries as buyer or provider (another account's is a 404)."""

    path = "/v1/deliveries"
    tags = ("deliveries",)
    guards = (authenticated,)
    security = BEARER_SECURITY

    @get("/upcoming", summary="Your upcoming deliveries", responses=problems(*PRIVATE))
    async def upcoming(self, ctx: Ctx, principal: Caller) -> list[UpcomingDeliveryOut]:
        """The deliveries you would give or receive if trading closed now, in the physical forwards you
        hold whose window has not started: provider, region, GPUs, window, escrow and the access
        handle attached ahead (provisional: positions can change until delivery start)."""
        found = await call(ctx.exchange.upcoming_deliveries, principal.account_id)
        return [UpcomingDeliveryOut.of(item) for item in found]

    @get("/{delivery_id:int}", summary="Get a delivery", responses=problems(*PRIVATE, 404))
    async def get_delivery(self, ctx: Ctx, principal: Caller, delivery_id: DeliveryId) -> DeliveryOut:
        """One delivery with its access handle, escrow and days."""
        return DeliveryOut.of(await call(ctx.exchange.delivery, principal.account_id, delivery_id))

    @post(
        "/{delivery_id:int}/access",
        status_code=200,
        summary="Attach the access handle",
        responses=problems(*ADMIN, 404, 409),
    )
    async def attach(
        self, ctx: Ctx, principal: Caller, delivery_id: DeliveryId, data: JSONBody[AccessAttach]
    ) -> DeliveryOut:
        """The provider attaches (or replaces) how the buyer reaches the GPUs (``handle``, and an
        ``endpoint``); clears the alert. Before the window: ``POST /v1/listings/{id}/access``."""
        fn = ctx.exchange.attach_access
        info = await call(fn, principal.account_id, delivery_id, data.handle, data.endpoint)
        return DeliveryOut.of(info)

    @post(
        "/{delivery_id:int}/days/{day:str}/confirm",
        status_code=200,
        summary="Confirm a delivery day",
        responses=problems(*ADMIN, 404, 409),
    )
    async def confirm(
        self, ctx: Ctx, principal: Caller, delivery_id: DeliveryId, day: FromPath[str]
    ) -> DeliveryOut:
        """The buyer confirms a day (from its start): its escrow is paid to the provider."""
        fn = ctx.exchange.confirm_delivery_day
        return DeliveryOut.of(await call(fn, principal.account_id, delivery_id, day_us(day)))

    @post(
        "/{delivery_id:int}/days/{day:str}/dispute",
        status_code=200,
        summary="Dispute a delivery day",
        responses=problems(*ADMIN, 404, 409),
    )
    async def dispute(
        self,
        ctx: Ctx,
        principal: Caller,
        delivery_id: DeliveryId,
        day: FromPath[str],
        data: JSONBody[DisputeCreate],
    ) -> DeliveryOut:
        """The buyer disputes a day (from its start until 24 h after its end): escrow stays held."""
        fn = ctx.exchange.dispute_delivery_day
        return DeliveryOut.of(await call(fn, principal.account_id, delivery_id, day_us(day), data.reason))


class DeliveryAdminController(Controller):
    """Disputes and the delivery duty; needs the ``admin`` role."""

    path = "/v1/admin/deliveries"
    tags = ("admin",)
    guards = (requires("admin"),)
    security = BEARER_SECURITY

    @post(
        "/{delivery_id:int}/days/{day:str}/resolve",
        status_code=200,
        summary="Decide a disputed day",
        responses=problems(*ADMIN, 404, 409),
    )
    async def resolve(
        self, ctx: Ctx, delivery_id: DeliveryId, day: FromPath[str], data: JSONBody[DisputeResolve]
    ) -> DeliveryOut:
        """Uphold (refund the buyer, charge the provider's collateral) or reject (pay the provider)."""
        fn = ctx.exchange.resolve_delivery_dispute
        return DeliveryOut.of(await call(fn, delivery_id, day_us(day), data.uphold))

    @post("/run", status_code=200, summary="Run the delivery duty", responses=problems(*ADMIN))
    async def run(self, ctx: Ctx) -> DeliveryReportOut:
        """Fail days without access past their grace, accept undisputed days, release collateral;
        the deliveries it changed are announced to their parties on the stream."""
        report = await call(ctx.exchange.run_deliveries)
        await announce_deliveries(ctx, report)
        return DeliveryReportOut.of(report)
