"""How listed capacity becomes sellable contracts.

A listing of ``gpus`` GPUs of a product over ``[start, end)`` covers every physical forward of that
product whose delivery window lies inside ``[start, end)``; in each of them the provider's inventory
grows by ``gpus``. Inventory is kept per (forward, provider): ``listed`` (sum over the provider's
covering listings), ``sold`` (filled sells) and ``reserved`` (resting sells), with
``sold + reserved <= listed`` enforced by the database. Forwards overlap -- a month holds its weeks and
days -- so the provider's capacity is also kept per UTC day (``capacity``: GPUs listed by listings
covering the whole day, and committed by sold or offered GPUs of every forward covering it): a sell
needs free GPUs both in its forward's inventory and on every day of its window, so the same
GPU-hours cannot be sold twice. A listing can shrink only by what is free in every forward it covers
and on every day it covers.
"""

from __future__ import annotations

import sqlalchemy as sa

from market.errors import InventoryExceededError
from market.instruments import Instrument
from market.store import insert_ignore
from market.tables import Capacity, Inventory, Listing

_inventory = Inventory.__table__
_listings = Listing.__table__
_capacity = Capacity.__table__
DAY_US = 86_400_000_000
MAX_LISTING_DAYS = 400


def whole_days(start_us: int, end_us: int) -> list[int]:
    """The starts of the UTC days lying wholly inside ``[start, end)``."""
    first = -(-start_us // DAY_US) * DAY_US
    return list(range(first, end_us - DAY_US + 1, DAY_US))


def add_days(connection: sa.Connection, provider_id: str, product: str, days: list[int], gpus: int) -> None:
    """Grow (negative ``gpus``: shrink) a provider's listed capacity on ``days``."""
    if not days:
        return
    rows = [{"provider_id": provider_id, "product": product, "day_us": d} for d in days]
    insert_ignore(connection, _capacity, rows)
    connection.execute(
        _capacity.update()
        .where(
            _capacity.c.provider_id == provider_id,
            _capacity.c.product == product,
            _capacity.c.day_us.in_(days),
        )
        .values(listed_gpus=_capacity.c.listed_gpus + gpus)
    )


def free_on_days(connection: sa.Connection, provider_id: str, product: str, days: list[int]) -> int:
    """The fewest GPUs free (listed, not committed) on any of ``days``."""
    rows = connection.execute(
        sa.select(_capacity.c.listed_gpus - _capacity.c.committed_gpus)
        .where(
            _capacity.c.provider_id == provider_id,
            _capacity.c.product == product,
            _capacity.c.day_us.in_(days),
        )
        .with_for_update()
    ).scalars()
    free = list(rows)
    return min(free) if len(free) == len(days) else 0


COVERABLE = ("open", "halted")


def covers(listing: dict, instrument: Instrument) -> bool:
    """Whether ``listing`` backs ``instrument`` (a physical forward of its product inside its window)."""
    return (
        instrument.is_physical
        and instrument.product == listing["product"]
        and instrument.status in COVERABLE
        and listing["window_start_us"] <= instrument.window_start_us
        and instrument.window_end_us <= listing["window_end_us"]
    )


def add_capacity(connection: sa.Connection, symbol: str, provider_id: str, gpus: int) -> None:
    """Grow (or, with negative ``gpus``, shrink) a provider's listed capacity in one forward."""
    insert_ignore(connection, _inventory, [{"symbol": symbol, "provider_id": provider_id}])
    connection.execute(
        _inventory.update()
        .where(_inventory.c.symbol == symbol, _inventory.c.provider_id == provider_id)
        .values(listed_gpus=_inventory.c.listed_gpus + gpus)
    )


def free_gpus(connection: sa.Connection, symbol: str, provider_id: str) -> int:
    """GPUs the provider has listed in ``symbol`` that are neither sold nor held by resting sells."""
    row = connection.execute(
        sa.select(_inventory)
        .where(_inventory.c.symbol == symbol, _inventory.c.provider_id == provider_id)
        .with_for_update()
    ).one_or_none()
    return 0 if row is None else row.listed_gpus - row.sold_gpus - row.reserved_gpus


def shrink(connection: sa.Connection, listing: dict, covered: list[str], by: int | None) -> int:
    """Take ``by`` GPUs (None: as many as possible) off a listing in every forward and day it covers.

    Refuses (``inventory_exceeded``) when ``by`` exceeds what is free in some forward; returns the
    GPUs actually removed.
    """
    provider = listing["provider_id"]
    free = min([free_gpus(connection, s, provider) for s in covered], default=listing["gpus"])
    days = whole_days(listing["window_start_us"], listing["window_end_us"])
    most = min(
        free, listing["gpus"], free_on_days(connection, provider, listing["product"], days) if days else free
    )
    if by is None:
        by = most
    elif by > most:
        raise InventoryExceededError(
            f"listing {listing['id']} can shrink by at most {most} GPUs: the rest is sold or offered",
            field="gpus",
        )
    for symbol in covered:
        add_capacity(connection, symbol, provider, -by)
    add_days(connection, provider, listing["product"], days, -by)
    remaining = listing["gpus"] - by
    connection.execute(_listings.update().where(_listings.c.id == listing["id"]).values(gpus=remaining))
    return by


def _covering(instrument: Instrument) -> sa.Select:
    return sa.select(_listings).where(
        _listings.c.product == instrument.product,
        _listings.c.window_start_us <= instrument.window_start_us,
        _listings.c.window_end_us >= instrument.window_end_us,
        _listings.c.gpus > 0,
    )


def auto_offering(connection: sa.Connection, instrument: Instrument) -> list[dict]:
    """The listings covering a new physical forward that ask to be offered automatically, oldest first."""
    query = _covering(instrument).where(_listings.c.auto_offer != "none").order_by(_listings.c.id)
    return [dict(r._mapping) for r in connection.execute(query)]


def capacity_for(connection: sa.Connection, instrument: Instrument) -> dict[str, int]:
    """Listed GPUs per provider for a new physical forward, from the listings that cover it."""
    rows = connection.execute(_covering(instrument))
    totals: dict[str, int] = {}
    for row in rows:
        totals[row.provider_id] = totals.get(row.provider_id, 0) + row.gpus
    return totals
