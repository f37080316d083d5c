"""How listed capacity becomes sellable contracts.

A listing of ``gpus`` GPUs of a product over ``[start, end)`` covers every physical forward of that
product whose delivery window lies inside ``[start, end)``; in each of them the provider's inventory
grows by ``gpus``. Inventory is kept per (forward, provider): ``listed`` (sum over the provider's
covering listings), ``sold`` (filled sells) and ``reserved`` (resting sells), with
``sold + reserved <= listed`` enforced by the database. A listing can shrink only by what is free in
every forward it covers; committed capacity is attributed to a provider's oldest listings first,
which is also the delivery allocation rule (see :mod:`market.settlement`).
"""

from __future__ import annotations

import sqlalchemy as sa

from market.errors import InventoryExceededError
from market.store import insert_ignore
from market.tables import Inventory, Listing

_inventory = Inventory.__table__
_listings = Listing.__table__
COVERABLE = ("open", "halted")


def covers(listing: dict, instrument: dict) -> bool:
    """Whether ``listing`` backs ``instrument`` (a physical forward of its product inside its window)."""
    return (
        instrument["kind"] == "forward"
        and instrument["settlement"] == "physical"
        and instrument["product"] == listing["product"]
        and instrument["status"] in COVERABLE
        and listing["window_start_us"] <= instrument["window_start_us"]
        and instrument["window_end_us"] <= listing["window_end_us"]
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
    """Take ``by`` GPUs (None: as many as possible) off a listing in every forward it covers.

    Refuses (``inventory_exceeded``) when ``by`` exceeds what is free in some forward; returns the
    GPUs actually removed.
    """
    free = min([free_gpus(connection, s, listing["provider_id"]) for s in covered], default=listing["gpus"])
    most = min(free, listing["gpus"])
    if by is None:
        by = most
    elif by > most:
        raise InventoryExceededError(
            f"listing {listing['id']} can shrink by at most {most} GPUs: the rest is sold or offered",
            field="gpus",
        )
    for symbol in covered:
        add_capacity(connection, symbol, listing["provider_id"], -by)
    remaining = listing["gpus"] - by
    connection.execute(_listings.update().where(_listings.c.id == listing["id"]).values(gpus=remaining))
    return by


def _covering(instrument: dict) -> sa.Select:
    return sa.select(_listings).where(
        _listings.c.product == instrument["product"],
        _listings.c.window_start_us <= instrument["window_start_us"],
        _listings.c.window_end_us >= instrument["window_end_us"],
        _listings.c.gpus > 0,
    )


def auto_offering(connection: sa.Connection, instrument: dict) -> list[dict]:
    """The listings covering a new physical forward that ask to be offered automatically, oldest first."""
    query = _covering(instrument).where(_listings.c.auto_offer != "none").order_by(_listings.c.id)
    return [dict(r._mapping) for r in connection.execute(query)]


def capacity_for(connection: sa.Connection, instrument: dict) -> dict[str, int]:
    """Listed GPUs per provider for a new physical forward, from the listings that cover it."""
    rows = connection.execute(_covering(instrument))
    totals: dict[str, int] = {}
    for row in rows:
        totals[row.provider_id] = totals.get(row.provider_id, 0) + row.gpus
    return totals
