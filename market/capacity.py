"""Capacity: providers list GPUs for a window, reduce or withdraw listings, and auto-offer them.

A listing creates inventory in every physical forward its window covers (the arithmetic of inventory
is :mod:`market.listings`); an auto-offering listing places asks for the listed GPUs in those
forwards, at its reserve price or at the pricing core's fair value plus a spread.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from market import delivery, listings, marks
from market.accounts import PROVIDER, account, roles_of
from market.errors import (
    ForbiddenError,
    InvalidAmountError,
    InvalidRequestError,
    InventoryExceededError,
    NoMarkError,
    NotFoundError,
)
from market.instruments import Instrument, Status
from market.records import ListingInfo, OrderRequest, record_of
from market.tables import Instrument as InstrumentTable
from market.tables import Listing, Order, Product
from market.units import to_epoch_us

if TYPE_CHECKING:
    from market.house import House
    from market.store import UnitOfWork

AUTO_OFFERS = ("none", "reserve", "fair_value")

_products = Product.__table__
_instruments = InstrumentTable.__table__
_listings = Listing.__table__
_orders = Order.__table__


def create_listing(
    house: House,
    provider_id: str,
    product: str,
    gpus: int,
    start: datetime,
    end: datetime,
    *,
    region: str | None = None,
    reserve_price_micros: int | None = None,
    auto_offer: str = "none",
    spread_micros: int = 0,
    spec: str | None = None,
) -> ListingInfo:
    """List ``gpus`` GPUs of ``product`` for every hour of ``[start, end)``.

    The listing must match the product: its ``region`` (when given) the product's region, its
    ``spec`` (when given) the product's spec (its description); a listing without a region takes
    the product's. The provider posts the product's performance collateral for every GPU-day listed
    (``insufficient_funds`` when its available cash does not cover it; :mod:`market.delivery`).
    Creates inventory in every physical forward the window covers. ``auto_offer`` ``reserve``
    places asks for the listed GPUs at ``reserve_price_micros`` (rounded up to the tick);
    ``fair_value`` at the pricing core's fair value plus ``spread_micros`` (never below the
    reserve price).
    """
    if PROVIDER not in account(house, provider_id).roles:
        raise ForbiddenError("listing capacity needs the provider role")
    if type(gpus) is not int or not 0 < gpus <= 10**7:
        raise InvalidRequestError("gpus must be a positive whole number", field="gpus")
    for name, moment in (("start", start), ("end", end)):
        if moment.tzinfo is None or moment.minute or moment.second or moment.microsecond:
            raise InvalidRequestError(f"{name} must be a whole UTC hour", field=name)
    if end <= start:
        raise InvalidRequestError("end must be after start", field="end")
    if end - start > timedelta(days=listings.MAX_LISTING_DAYS):
        raise InvalidRequestError(f"a listing spans at most {listings.MAX_LISTING_DAYS} days", field="end")
    _check_offer(auto_offer, reserve_price_micros, spread_micros)
    with house.transaction() as uow:
        if to_epoch_us(end) <= uow.now_us:
            raise InvalidRequestError("the window is over", field="end")
        found = uow.connection.execute(sa.select(_products).where(_products.c.id == product)).first()
        if found is None:
            raise NotFoundError(f"no product {product!r}", field="product")
        region = _matching(region, found.region, "region")
        spec = _matching(spec, found.description or None, "spec")
        row = {
            "provider_id": provider_id,
            "product": product,
            "region": region,
            "spec": spec,
            "gpus": gpus,
            "window_start_us": to_epoch_us(start),
            "window_end_us": to_epoch_us(end),
            "reserve_price_micros": reserve_price_micros,
            "auto_offer": auto_offer,
            "spread_micros": spread_micros,
            "created_us": uow.now_us,
        }
        row["id"] = uow.connection.execute(_listings.insert().returning(_listings.c.id), row).scalar_one()
        row["collateral_micros"] = delivery.post_collateral(uow, row)
        covered = _covered(house, row)
        for symbol in covered:
            listings.add_capacity(uow.connection, symbol, provider_id, gpus)
        days = listings.whole_days(row["window_start_us"], row["window_end_us"])
        listings.add_days(uow.connection, provider_id, product, days, gpus)
        if auto_offer != "none":
            auto_offer_asks(house, uow, row, covered)
    return _listing(row, covered)


def _check_offer(auto_offer: str, reserve_price_micros: int | None, spread_micros: int) -> None:
    """How a listing offers itself: one of :data:`AUTO_OFFERS`, a positive reserve price (required to
    offer at the reserve), a non-negative spread."""
    if auto_offer not in AUTO_OFFERS:
        raise InvalidRequestError(f"auto_offer must be one of {', '.join(AUTO_OFFERS)}", field="auto_offer")
    if reserve_price_micros is not None and (
        type(reserve_price_micros) is not int or reserve_price_micros <= 0
    ):
        raise InvalidAmountError("reserve price must be positive", field="reserve_price")
    if auto_offer == "reserve" and reserve_price_micros is None:
        raise InvalidRequestError("auto_offer reserve needs a reserve price", field="reserve_price")
    if type(spread_micros) is not int or spread_micros < 0:
        raise InvalidAmountError("spread must be a non-negative amount", field="spread")


def set_auto_offer(
    house: House,
    provider_id: str,
    listing_id: int,
    auto_offer: str,
    *,
    reserve_price_micros: int | None = None,
    spread_micros: int = 0,
) -> ListingInfo:
    """Change how one of the provider's listings offers itself after it was listed (the settings of
    :func:`create_listing`). Its asks follow at once: placed or re-priced to the new settings, or,
    with ``none``, cancelled (what they offered is free again; nothing sold is touched)."""
    _check_offer(auto_offer, reserve_price_micros, spread_micros)
    listing(house, provider_id, listing_id)  # another provider's listing is not_found
    settings = {
        "auto_offer": auto_offer,
        "reserve_price_micros": reserve_price_micros,
        "spread_micros": spread_micros,
    }
    with house.transaction() as uow:
        chosen = _listings.c.id == listing_id
        uow.connection.execute(_listings.update().where(chosen).values(**settings))
        row = dict(uow.connection.execute(sa.select(_listings).where(chosen)).one()._mapping)
        covered = _covered(house, row)
        if auto_offer == "none":
            trading = house.books()
            tag = f"auto-{listing_id}-"
            for order_id in [
                oid
                for oid, o in trading.live.items()
                if o["account_id"] == provider_id and (o["client_order_id"] or "").startswith(tag)
            ]:
                trading.cancel(uow, provider_id, order_id)
        else:
            auto_offer_asks(house, uow, row, covered)
    return _listing(row, covered)


def _matching(given: str | None, product_has: str | None, field: str) -> str | None:
    """The listing's ``field`` checked against the product's (case and surrounding blanks aside)."""
    if given is not None and (not isinstance(given, str) or not 0 < len(given.strip()) <= 200):
        raise InvalidRequestError(f"{field} must be 1-200 characters", field=field)
    if given is None or product_has is None:
        return given or product_has
    if given.strip().casefold() != product_has.strip().casefold():
        raise InvalidRequestError(
            f"the listing's {field} {given!r} does not match the product's {product_has!r}", field=field
        )
    return product_has


def _covered(house: House, listing: dict) -> list[str]:
    return sorted(s for s, i in house.books().instruments.items() if listings.covers(listing, i))


def refresh_auto_offers(house: House) -> int:
    """Place the asks every auto-offering listing is owed and re-price its fair-value asks to the
    current mark (see :func:`auto_offer_asks`); returns how many asks were placed or re-priced."""
    with house.transaction() as uow:
        rows = [
            dict(r._mapping)
            for r in uow.connection.execute(
                sa.select(_listings)
                .where(_listings.c.auto_offer != "none", _listings.c.window_end_us > uow.now_us)
                .order_by(_listings.c.id)
            )
        ]
        return sum(auto_offer_asks(house, uow, row, _covered(house, row)) for row in rows)


def auto_offer_asks(house: House, uow: UnitOfWork, listing: dict, covered: list[str]) -> int:
    """Keep the asks an auto-offering listing asks for in the forwards ``covered`` (skipping those
    not open, and, for ``fair_value``, those without a mark); returns how many it placed or re-priced.

    Each ask carries the client order id ``auto-<listing>-<symbol>-<n>``. A live one is re-priced when
    the fair value moved (a price change loses priority, as for any amend); when none is live a new one
    offers what is still free. Overlapping forwards share the listing's GPU-days, so each ask offers
    what is still free there (at most the listing's GPUs), longest window first: a month takes the
    capacity before its weeks and days, which get what other listings leave free.
    """
    trading = house.books()
    provider = listing["provider_id"]
    roles = roles_of(uow.connection, provider)
    by_length = sorted(
        (trading.instruments[s] for s in covered),
        key=lambda i: (i.window_start_us - i.window_end_us, i.window_start_us, i.symbol),
    )
    changed = 0
    for inst in by_length:
        symbol = inst.symbol
        if inst.status != Status.OPEN or uow.now_us >= inst.expiry_us:
            continue
        price = listing["reserve_price_micros"] or 0
        if listing["auto_offer"] == "fair_value":
            try:
                fair = marks.fair_value_micros(uow.connection, inst, uow.now_us)
            except NoMarkError:
                continue  # no fixings for the product yet: the lifecycle offers once there are
            price = max(price, fair + listing["spread_micros"])
        ticks = -(-price // inst.tick_micros)
        if ticks <= 0:
            continue
        tag = f"auto-{listing['id']}-{symbol}-"
        live = [
            o
            for o in trading.live.values()
            if o["account_id"] == provider and (o["client_order_id"] or "").startswith(tag)
        ]
        if live:
            if live[0]["price_ticks"] != ticks:
                trading.amend(uow, provider, live[0]["id"], None, ticks)
                changed += 1
            continue
        free = trading.offerable_gpus(uow, inst, provider)
        lots = min(listing["gpus"], free) // inst.lot_gpus
        if lots > 0:
            placed = uow.connection.execute(
                sa.select(sa.func.count()).where(
                    _orders.c.account_id == provider, _orders.c.client_order_id.startswith(tag)
                )
            ).scalar_one()
            request = OrderRequest(
                symbol=symbol, side="sell", qty=lots, price_ticks=ticks, client_order_id=f"{tag}{placed}"
            )
            trading.new_order(uow, provider, roles, request)
            changed += 1
    return changed


def provider_listings(house: House, provider_id: str) -> list[ListingInfo]:
    """A provider's listings, oldest first, each with the forwards it covers."""
    with house.read() as connection:
        rows = [
            dict(r._mapping)
            for r in connection.execute(
                sa.select(_listings).where(_listings.c.provider_id == provider_id).order_by(_listings.c.id)
            )
        ]
        forwards = [
            Instrument.of(r._mapping)
            for r in connection.execute(
                sa.select(_instruments).where(
                    _instruments.c.kind == "forward", _instruments.c.settlement == "physical"
                )
            )
        ]
    return [_listing(row, sorted(f.symbol for f in forwards if listings.covers(row, f))) for row in rows]


def listing(house: House, provider_id: str, listing_id: int) -> ListingInfo:
    """One of the provider's listings (another provider's is ``not_found``)."""
    for item in provider_listings(house, provider_id):
        if item.id == listing_id:
            return item
    raise NotFoundError(f"no listing {listing_id}", field="listing_id")


def reduce_listing(house: House, provider_id: str, listing_id: int, gpus: int) -> ListingInfo:
    """Lower a listing to ``gpus`` GPUs; refused below what is sold or offered in a covered forward."""
    current = listing(house, provider_id, listing_id)
    if type(gpus) is not int or not 0 <= gpus < current.gpus:
        raise InvalidRequestError(f"gpus must be below the current {current.gpus}", field="gpus")
    return _shrink(house, listing_id, current.gpus - gpus)


def withdraw_listing(house: House, provider_id: str, listing_id: int) -> ListingInfo:
    """Withdraw as much of a listing as is unsold and not offered; returns what remains."""
    listing(house, provider_id, listing_id)
    return _shrink(house, listing_id, None)


def _shrink(house: House, listing_id: int, by: int | None) -> ListingInfo:
    with house.transaction() as uow:
        row = dict(
            uow.connection.execute(sa.select(_listings).where(_listings.c.id == listing_id).with_for_update())
            .one()
            ._mapping
        )
        covered = _covered(house, row)
        removed = listings.shrink(uow.connection, row, covered, by)
        if by is None and not removed:
            raise InventoryExceededError(
                f"listing {listing_id} has nothing free to withdraw: its GPUs are sold or offered",
                field="listing_id",
            )
        delivery.release_collateral(uow, row, removed)
        row["gpus"] -= removed
    return _listing(row, covered)


def _listing(row: dict, covered: list[str]) -> ListingInfo:
    return record_of(ListingInfo, row, covers=tuple(covered))
