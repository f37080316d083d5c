"""A provider's view of its capacity: per forward what it listed, sold, offers and has free, what it
is owed (receivables) and the collateral it holds posted.

``free`` is what the provider could still offer in the forward -- unsold and not offered there, and
free on every day of the window (overlapping forwards share the days). ``receivable`` is the escrow
owed to the provider: its physical sales not yet delivered plus its delivery days still pending or
disputed; it becomes cash day by day as delivery is confirmed or accepted (:mod:`market.delivery`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import sqlalchemy as sa

from market.capacity import listing as own_listing
from market.capacity import provider_listings
from market.delivery import OPEN_DAYS
from market.listings import whole_days
from market.records import InventoryLine, InventoryView
from market.tables import Capacity, Delivery, DeliveryDay, Instrument, Inventory, Trade

if TYPE_CHECKING:
    from market.house import House

_inventory, _capacity, _trades = Inventory.__table__, Capacity.__table__, Trade.__table__
_deliveries, _days, _instruments = Delivery.__table__, DeliveryDay.__table__, Instrument.__table__


def _owed(connection: sa.Connection, provider_id: str, listing_id: int | None) -> dict[str, int]:
    """Escrow owed to the provider per forward (only what flows through ``listing_id`` when given:
    its open delivery days; sales not yet delivered belong to no listing)."""
    owed: dict[str, int] = defaultdict(int)
    if listing_id is None:
        sales = connection.execute(
            sa.select(_trades.c.symbol, sa.func.sum(_trades.c.escrow_micros))
            .where(_trades.c.seller_id == provider_id, ~_trades.c.released, ~_trades.c.resale)
            .group_by(_trades.c.symbol)
        )
        for symbol, amount in sales:
            owed[symbol] += int(amount)
    query = (
        sa.select(_deliveries.c.symbol, sa.func.sum(_days.c.escrow_micros))
        .join(_days, _days.c.delivery_id == _deliveries.c.id)
        .where(_deliveries.c.provider_id == provider_id, _days.c.status.in_(OPEN_DAYS))
        .group_by(_deliveries.c.symbol)
    )
    if listing_id is not None:
        query = query.where(_deliveries.c.listing_id == listing_id)
    for symbol, amount in connection.execute(query):
        owed[symbol] += int(amount)
    return owed


def _lines(
    connection: sa.Connection, provider_id: str, symbols: set[str], owed: dict[str, int]
) -> list[InventoryLine]:
    rows = {
        r.symbol: r
        for r in connection.execute(
            sa.select(_inventory).where(
                _inventory.c.provider_id == provider_id, _inventory.c.symbol.in_(symbols)
            )
        )
    }
    forwards = {
        r.symbol: r
        for r in connection.execute(
            sa.select(_instruments).where(_instruments.c.symbol.in_(symbols | set(owed)))
        )
    }
    days = {
        (r.product, r.day_us): r.listed_gpus - r.committed_gpus
        for r in connection.execute(sa.select(_capacity).where(_capacity.c.provider_id == provider_id))
    }
    lines = []
    for symbol in sorted(symbols | set(owed)):
        row, inst = rows.get(symbol), forwards[symbol]
        listed, sold, offered = (
            (0, 0, 0) if row is None else (row.listed_gpus, row.sold_gpus, row.reserved_gpus)
        )
        free = listed - sold - offered
        if inst.status in ("open", "halted"):
            window = whole_days(inst.window_start_us, inst.window_end_us)
            free = min([free] + [days.get((inst.product, d), 0) for d in window])
        else:
            free = 0  # no longer tradable
        lines.append(
            InventoryLine(symbol, inst.status, listed, sold, offered, max(free, 0), owed.get(symbol, 0))
        )
    return lines


def listing_inventory(house: House, provider_id: str, listing_id: int) -> InventoryView:
    """One of the provider's listings: per forward it covers (and per forward it delivers) the
    provider's listed, sold, offered and free GPUs there, the escrow owed through the listing's
    deliveries, and the listing's collateral."""
    item = own_listing(house, provider_id, listing_id)
    with house.read() as connection:
        owed = _owed(connection, provider_id, listing_id)
        lines = _lines(connection, provider_id, set(item.covers), owed)
    return InventoryView(provider_id, listing_id, tuple(lines), sum(owed.values()), item.collateral_micros)


def inventory_summary(house: House, provider_id: str) -> InventoryView:
    """Across all the provider's listings: every forward it has inventory or receivables in, the
    escrow owed to it (undelivered sales and open delivery days) and all its collateral."""
    listings = provider_listings(house, provider_id)
    with house.read() as connection:
        owed = _owed(connection, provider_id, None)
        held = {
            r.symbol
            for r in connection.execute(
                sa.select(_inventory.c.symbol).where(_inventory.c.provider_id == provider_id)
            )
        }
        lines = _lines(connection, provider_id, held, owed)
    collateral = sum(item.collateral_micros for item in listings)
    return InventoryView(provider_id, None, tuple(lines), sum(owed.values()), collateral)
