"""Capacity listings: a provider's GPUs become inventory in the forwards they cover."""

from __future__ import annotations

from litestar import Controller, delete, get, patch, post, put
from litestar.params import JSONBody

from api.auth import BEARER_SECURITY, Caller, requires
from api.context import Ctx, call
from api.openapi import ADMIN, problems
from api.pagination import CursorParam, LimitParam, Page, decode_cursor, page_of
from api.params import row_id
from api.publish import announce
from api.schemas.deliveries import AccessAheadCreate, AccessAheadOut
from api.schemas.listings import AutoOffer, InventoryOut, ListingCreate, ListingOut, ListingReduce
from market.units import dollars_to_micros

ListingId = row_id("listing")


class ListingController(Controller):
    """A provider's own listings; another provider's listing is a 404."""

    path = "/v1/listings"
    tags = ("listings",)
    guards = (requires("provider"),)
    security = BEARER_SECURITY

    @post("/", status_code=201, summary="List capacity", responses=problems(*ADMIN, 404, 409))
    async def create(self, ctx: Ctx, principal: Caller, data: JSONBody[ListingCreate]) -> ListingOut:
        """List GPUs for a window; ``auto_offer`` also places asks in the forwards it covers."""
        reserve = (
            None if data.reserve_price is None else dollars_to_micros(data.reserve_price, "reserve_price")
        )
        listing = await call(
            ctx.exchange.create_listing,
            principal.account_id,
            data.product,
            data.gpus,
            data.start,
            data.end,
            region=data.region,
            spec=data.spec,
            reserve_price_micros=reserve,
            auto_offer=data.auto_offer,
            spread_micros=dollars_to_micros(data.spread, "spread"),
        )
        if data.auto_offer != "none":
            await announce(ctx, (), listing.covers)
        return ListingOut.of(listing)

    @get("/", summary="List your listings", responses=problems(*ADMIN))
    async def list_listings(
        self, ctx: Ctx, principal: Caller, cursor: CursorParam = None, limit: LimitParam = 100
    ) -> Page[ListingOut]:
        """Your listings, oldest first."""
        after = decode_cursor(cursor, int)
        listings = await call(ctx.exchange.listings, principal.account_id)
        listings = [item for item in listings if after is None or item.id > after]
        return page_of(listings[: limit + 1], limit, key=lambda item: item.id, render=ListingOut.of)

    @get("/inventory", summary="Your inventory across listings", responses=problems(*ADMIN))
    async def inventory_summary(self, ctx: Ctx, principal: Caller) -> InventoryOut:
        """Per forward: listed, sold, offered and free GPUs and the escrow owed to you; your collateral."""
        return InventoryOut.of(await call(ctx.exchange.inventory_summary, principal.account_id))

    @get("/{listing_id:int}/inventory", summary="A listing's inventory", responses=problems(*ADMIN, 404))
    async def listing_inventory(self, ctx: Ctx, principal: Caller, listing_id: ListingId) -> InventoryOut:
        """Per forward the listing covers: your listed, sold, offered and free GPUs; what its
        deliveries still owe you; its collateral."""
        return InventoryOut.of(await call(ctx.exchange.listing_inventory, principal.account_id, listing_id))

    @post(
        "/{listing_id:int}/access",
        status_code=200,
        summary="Attach an access handle ahead of a window",
        responses=problems(*ADMIN, 404, 409),
    )
    async def attach_ahead(
        self, ctx: Ctx, principal: Caller, listing_id: ListingId, data: JSONBody[AccessAheadCreate]
    ) -> AccessAheadOut:
        """Before the window of the physical forward ``symbol`` starts: the handle (and endpoint)
        for what this listing delivers there; delivery records copy it at delivery start, so no day
        fails for want of it (after the start: ``409 delivery_day_closed``, attach on the record)."""
        fn = ctx.exchange.attach_access_ahead
        found = await call(fn, principal.account_id, listing_id, data.symbol, data.handle, data.endpoint)
        return AccessAheadOut.of(found)

    @get("/{listing_id:int}/access", summary="Handles attached ahead", responses=problems(*ADMIN, 404))
    async def access_ahead(self, ctx: Ctx, principal: Caller, listing_id: ListingId) -> list[AccessAheadOut]:
        """The handles attached ahead for this listing, by forward."""
        found = await call(ctx.exchange.access_ahead, principal.account_id, listing_id)
        return [AccessAheadOut.of(a) for a in found]

    @get("/{listing_id:int}", summary="Get a listing", responses=problems(*ADMIN, 404))
    async def get_listing(self, ctx: Ctx, principal: Caller, listing_id: ListingId) -> ListingOut:
        """One of your listings with the forwards it covers."""
        return ListingOut.of(await call(ctx.exchange.listing, principal.account_id, listing_id))

    @patch("/{listing_id:int}", summary="Reduce a listing", responses=problems(*ADMIN, 404, 409))
    async def reduce(
        self, ctx: Ctx, principal: Caller, listing_id: ListingId, data: JSONBody[ListingReduce]
    ) -> ListingOut:
        """Lower the GPUs listed; refused below what is sold or offered in a covered forward."""
        return ListingOut.of(
            await call(ctx.exchange.reduce_listing, principal.account_id, listing_id, data.gpus)
        )

    @put(
        "/{listing_id:int}/auto-offer",
        summary="Change a listing's auto-offer",
        responses=problems(*ADMIN, 404),
    )
    async def auto_offer(
        self, ctx: Ctx, principal: Caller, listing_id: ListingId, data: JSONBody[AutoOffer]
    ) -> ListingOut:
        """Replace how the listing offers itself; its asks are placed, re-priced or cancelled at once."""
        reserve = (
            None if data.reserve_price is None else dollars_to_micros(data.reserve_price, "reserve_price")
        )
        listing = await call(
            ctx.exchange.set_auto_offer,
            principal.account_id,
            listing_id,
            data.auto_offer,
            reserve_price_micros=reserve,
            spread_micros=dollars_to_micros(data.spread, "spread"),
        )
        await announce(ctx, (), listing.covers)
        return ListingOut.of(listing)

    @delete(
        "/{listing_id:int}",
        status_code=200,
        summary="Withdraw a listing",
        responses=problems(*ADMIN, 404, 409),
    )
    async def withdraw(self, ctx: Ctx, principal: Caller, listing_id: ListingId) -> ListingOut:
        """Withdraw whatever is unsold and not offered; returns what remains listed.

        ``409 inventory_exceeded`` when nothing is free to withdraw (every GPU sold or offered)."""
        return ListingOut.of(await call(ctx.exchange.withdraw_listing, principal.account_id, listing_id))
