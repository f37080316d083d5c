"""Basket funds: an admin defines a fund and authorises its participants; anyone with a key reads
funds, their NAV (live and published history) and trades the unit on its book like any instrument;
participants create and redeem units, in kind or in cash. See docs/baskets.md."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import JSONBody, Parameter, PathParameter

from api.auth import BEARER_SECURITY, Caller, authenticated, requires
from api.context import Ctx, call
from api.controllers.accounts import IdempotencyKey
from api.feeds import publish_navs
from api.openapi import ADMIN, PRIVATE, problems
from api.publish import announce
from api.schemas.baskets import (
    BasketCreate,
    BasketOut,
    FlowCreate,
    FlowOut,
    NavOut,
    ParticipantCreate,
    WindUpOut,
)

BasketSymbol = Annotated[
    str, PathParameter(pattern=r"^[A-Z][A-Z0-9]{1,11}$", max_length=12, description="the fund's unit symbol")
]
HistoryLimit = Annotated[int, Parameter(ge=1, le=1000, description="rows to return, newest first")]


class BasketController(Controller):
    """Funds: defined by admins, read by every account, created and redeemed by their participants."""

    path = "/v1/baskets"
    tags = ("baskets",)
    security = BEARER_SECURITY

    @post("/", status_code=201, guards=[requires("admin")], summary="Define a basket fund",
          responses=problems(*ADMIN, 404, 409))  # fmt: skip
    async def create(self, ctx: Ctx, data: JSONBody[BasketCreate]) -> BasketOut:
        """A fund whose unit (listed as ``symbol``, priced per unit in cents) holds ``lots`` of each open
        cash-settled forward; it gets an account of its own and stops creating, redeeming and trading
        when its first leg stops trading."""
        return BasketOut.of(await call(ctx.exchange.create_basket, data.terms()))

    @get("/", guards=[authenticated], summary="List basket funds", responses=problems(*PRIVATE))
    async def list_baskets(self, ctx: Ctx) -> list[BasketOut]:
        """Every fund by symbol, with its strip, fees, units outstanding and participants."""
        return [BasketOut.of(b) for b in await call(ctx.exchange.baskets)]

    @get(
        "/{symbol:str}",
        guards=[authenticated],
        summary="Get a basket fund",
        responses=problems(*PRIVATE, 404),
    )
    async def get_basket(self, ctx: Ctx, symbol: BasketSymbol) -> BasketOut:
        """One fund."""
        return BasketOut.of(await call(ctx.exchange.basket, symbol))

    @get("/{symbol:str}/nav", guards=[authenticated], summary="A fund's NAV now",
         responses=problems(*PRIVATE, 404))  # fmt: skip
    async def nav(self, ctx: Ctx, symbol: BasketSymbol) -> NavOut:
        """The NAV per unit at the strip's marks now (equity over units outstanding, rounded down; one
        unit's strip notional while none are outstanding), and the unit's look-through margin."""
        return NavOut.of(await call(ctx.exchange.basket_nav, symbol))

    @get("/{symbol:str}/navs", guards=[authenticated], summary="A fund's published NAVs",
         responses=problems(*PRIVATE, 404))  # fmt: skip
    async def navs(self, ctx: Ctx, symbol: BasketSymbol, limit: HistoryLimit = 100) -> list[NavOut]:
        """The NAVs published (by every creation and redemption and by each publication), newest first."""
        return [NavOut.of(n) for n in await call(ctx.exchange.basket_navs, symbol, limit)]

    @post("/{symbol:str}/participants", status_code=200, guards=[requires("admin")],
          summary="Authorise a participant", responses=problems(*ADMIN, 404))  # fmt: skip
    async def authorise(self, ctx: Ctx, symbol: BasketSymbol, data: JSONBody[ParticipantCreate]) -> BasketOut:
        """Let an account create and redeem the fund's units (idempotent)."""
        return BasketOut.of(await call(ctx.exchange.authorise_participant, symbol, data.account_id))

    @post("/{symbol:str}/flows", status_code=201, guards=[authenticated],
          summary="Create or redeem units", responses=problems(*PRIVATE, 403, 404, 409))  # fmt: skip
    async def flow(
        self,
        ctx: Ctx,
        principal: Caller,
        symbol: BasketSymbol,
        data: JSONBody[FlowCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> FlowOut:
        """As a participant, at the NAV now: ``create`` (in kind: deliver the strip, pay NAV plus the
        in-kind fee; in cash: pay NAV plus the fee plus what buying the strip cost beyond the marks)
        or ``redeem`` (receive the strip and NAV less the in-kind fee, or NAV less the fee less what
        selling the strip cost). Refused whole when the strip, the cash or the books' depth is
        missing. With an ``Idempotency-Key`` a retry returns the first flow, across restarts too."""
        info = await call(
            ctx.exchange.basket_flow, principal.account_id, symbol, data.request(idempotency_key)
        )
        basket = await call(ctx.exchange.basket, symbol)
        await announce(ctx, [], [symbol, *(leg.symbol for leg in basket.legs)])
        await publish_navs(ctx)
        return FlowOut.of(info)

    @get("/{symbol:str}/flows", guards=[authenticated], summary="Your creations and redemptions",
         responses=problems(*PRIVATE, 404))  # fmt: skip
    async def flows(
        self, ctx: Ctx, principal: Caller, symbol: BasketSymbol, limit: HistoryLimit = 100
    ) -> list[FlowOut]:
        """Your creations and redemptions in the fund, newest first."""
        found = await call(ctx.exchange.basket_flows, symbol, principal.account_id, limit)
        return [FlowOut.of(f) for f in found]


class BasketAdminController(Controller):
    """Publishing NAVs and winding up funds on demand; needs the ``admin`` role."""

    path = "/v1/admin/baskets"
    tags = ("admin",)
    guards = (requires("admin"),)
    security = BEARER_SECURITY

    @post("/nav", status_code=200, summary="Publish every fund's NAV", responses=problems(*ADMIN))
    async def publish(self, ctx: Ctx) -> list[NavOut]:
        """Compute and store every active fund's NAV now (funds whose legs have no marks yet are left out)."""
        return [NavOut.of(n) for n in await call(ctx.exchange.publish_navs)]

    @post("/wind-up", status_code=200, summary="Wind up every due fund", responses=problems(*ADMIN))
    async def wind_up(self, ctx: Ctx) -> list[WindUpOut]:
        """Pay out every fund whose unit has expired and whose legs have all settled; a second call
        changes nothing."""
        return [WindUpOut.of(w) for w in await call(ctx.exchange.wind_up_baskets)]
