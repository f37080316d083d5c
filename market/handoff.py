"""The delivery handoff ahead of the window: access handles attached before delivery start, and the
deliveries a buyer or provider can expect.

Delivery records are written when trading in a physical forward closes, at delivery start
(:func:`market.delivery.allocate`), because positions -- and so who receives what -- can change until
then. A provider need not wait for them: :func:`attach_ahead` attaches the access handle (and an
endpoint) for what one of its listings will deliver in one forward, any time before the window
starts, and allocation copies it onto every record that listing supplies in that forward (the
handle counts as attached when it was given, so no day fails for want of it and no alert is
raised). :func:`upcoming` shows either side the allocation as it would be if trading closed now --
provider, region, GPUs, window, escrow and the handle attached ahead -- computed by the same rule
(:func:`market.delivery.plan`); it is provisional until delivery start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from market import listings
from market.delivery import check_handle, plan
from market.errors import DeliveryDayClosedError, InvalidRequestError, NotFoundError
from market.instruments import Instrument
from market.records import AccessAhead, UpcomingDelivery, record_of
from market.tables import DeliveryAccess, Listing, Position
from market.tables import Instrument as InstrumentTable

if TYPE_CHECKING:
    from market.house import House

_access, _instruments = DeliveryAccess.__table__, InstrumentTable.__table__
_listings, _positions = Listing.__table__, Position.__table__


def attach_ahead(
    house: House, provider_id: str, listing_id: int, symbol: str, handle: str, endpoint: str | None = None
) -> AccessAhead:
    """Attach (or replace) the access handle of what the provider's listing will deliver in the
    physical forward ``symbol``, before its window starts (then: ``delivery_day_closed``, attach on
    the delivery records). The listing must cover the forward (``invalid_request``)."""
    handle, endpoint = check_handle(handle, endpoint)
    with house.transaction() as uow:
        found = uow.connection.execute(sa.select(_listings).where(_listings.c.id == listing_id)).first()
        if found is None or found.provider_id != provider_id:
            raise NotFoundError(f"no listing {listing_id}", field="listing_id")
        inst = uow.connection.execute(sa.select(_instruments).where(_instruments.c.symbol == symbol)).first()
        if inst is not None and uow.now_us >= inst.window_start_us:
            raise DeliveryDayClosedError(
                f"{symbol}'s window has started: attach the handle on its delivery records", field="symbol"
            )
        if inst is None or not listings.covers(dict(found._mapping), Instrument.of(inst._mapping)):
            raise InvalidRequestError(
                f"listing {listing_id} does not back a live physical forward {symbol!r}", field="symbol"
            )
        key = (_access.c.listing_id == listing_id) & (_access.c.symbol == symbol)
        uow.connection.execute(_access.delete().where(key))
        row = {
            "listing_id": listing_id,
            "symbol": symbol,
            "access_handle": handle,
            "endpoint": endpoint,
            "attached_us": uow.now_us,
        }
        uow.connection.execute(_access.insert(), row)
        return record_of(AccessAhead, row)


def access_ahead(house: House, provider_id: str, listing_id: int) -> list[AccessAhead]:
    """The handles attached ahead for one of the provider's listings, by symbol."""
    with house.read() as connection:
        owner = connection.execute(
            sa.select(_listings.c.provider_id).where(_listings.c.id == listing_id)
        ).scalar_one_or_none()
        if owner != provider_id:
            raise NotFoundError(f"no listing {listing_id}", field="listing_id")
        rows = connection.execute(
            sa.select(_access).where(_access.c.listing_id == listing_id).order_by(_access.c.symbol)
        ).mappings()
        return [record_of(AccessAhead, r) for r in rows]


def upcoming(house: House, account_id: str) -> list[UpcomingDelivery]:
    """The account's deliveries, as buyer or provider, in the physical forwards it holds a position
    in whose window has not started, as allocation would make them now (by symbol, then record)."""
    with house.read() as connection:
        now = house.now_us()
        forwards = connection.execute(
            sa.select(_instruments)
            .join(_positions, _positions.c.symbol == _instruments.c.symbol)
            .where(
                _positions.c.account_id == account_id,
                _positions.c.qty != 0,
                _instruments.c.kind == "forward",
                _instruments.c.settlement == "physical",
                _instruments.c.status.in_(listings.COVERABLE),
                _instruments.c.window_start_us > now,
            )
            .order_by(_instruments.c.window_start_us, _instruments.c.symbol)
        ).mappings()
        return [
            record_of(UpcomingDelivery, record)
            for inst in [Instrument.of(f) for f in forwards]
            for record in plan(connection, inst, now).records
            if account_id in (record["buyer_id"], record["provider_id"])
        ]
