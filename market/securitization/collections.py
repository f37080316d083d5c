"""What one period owes a pool: the escrow its listings' deliveries released and the revenue of the
pooled capacity the sponsor rented at the index.

The sponsor services the pool: it receives the cash (the escrow of its delivered forwards, the rent of
its idle GPUs) and remits the pool's share each period (:mod:`market.securitization.servicing`).

- **Escrow**: the escrow of every delivery day of a pooled listing that the exchange paid to the
  sponsor in the period (the day confirmed by its buyer, or accepted undisputed after its dispute
  window: ``delivery_days.decided_us`` in ``[start, end)``), to the micro-dollar.
- **Index revenue**: the GPU-hours the sponsor reports it rented at the index in the period
  (``POST /v1/pools/{id}/usage``; at most the pooled listed GPU-hours) times the product's index
  average over the period (none without fixings: the revenue is then zero and the period says so).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from market import index
from market.delivery import PAID
from market.securitization.tables import PoolListing, PoolUsage
from market.tables import Delivery, DeliveryDay, Listing

_deliveries = Delivery.__table__
_days = DeliveryDay.__table__
_listings = Listing.__table__
_pooled = PoolListing.__table__
_usage = PoolUsage.__table__
US_PER_HOUR = 3_600_000_000


@dataclass(frozen=True)
class Owed:
    """A period's collections: escrow, reported usage, the index average and the revenue at it."""

    escrow_micros: int
    usage_gpu_hours: int
    index_micros: int | None
    index_revenue_micros: int

    @property
    def total_micros(self) -> int:
        """What the sponsor owes the pool for the period."""
        return self.escrow_micros + self.index_revenue_micros


def escrow_released(
    connection: sa.Connection, pool_id: int, sponsor_id: str, start_us: int, end_us: int
) -> int:
    """The escrow paid to the sponsor in ``[start, end)`` for the delivery days of its pooled
    listings (a day's escrow is paid when its buyer confirms it or when it is accepted undisputed;
    a failed or upheld day is refunded to the buyer and earns the pool nothing: :mod:`market.delivery`)."""
    total = connection.execute(
        sa.select(sa.func.coalesce(sa.func.sum(_days.c.escrow_micros), 0))
        .select_from(
            _days.join(_deliveries, _deliveries.c.id == _days.c.delivery_id).join(
                _pooled, _pooled.c.listing_id == _deliveries.c.listing_id
            )
        )
        .where(
            _pooled.c.pool_id == pool_id,
            _deliveries.c.provider_id == sponsor_id,
            _days.c.status.in_(PAID),
            _days.c.decided_us >= start_us,
            _days.c.decided_us < end_us,
        )
    ).scalar_one()
    return int(total)


def listed_gpu_hours(connection: sa.Connection, pool_id: int, start_us: int, end_us: int) -> int:
    """GPU-hours the pooled listings cover in ``[start, end)`` (the bound of a usage report)."""
    rows = connection.execute(
        sa.select(_listings.c.gpus, _listings.c.window_start_us, _listings.c.window_end_us)
        .join(_pooled, _pooled.c.listing_id == _listings.c.id)
        .where(_pooled.c.pool_id == pool_id)
    ).all()
    return sum(
        r.gpus * max(0, min(r.window_end_us, end_us) - max(r.window_start_us, start_us)) // US_PER_HOUR
        for r in rows
    )


def owed(connection: sa.Connection, pool: sa.Row, period: int, start_us: int, end_us: int) -> Owed:
    """What the sponsor owes ``pool`` for ``period`` (``[start, end)``)."""
    escrow = escrow_released(connection, pool.id, pool.sponsor_id, start_us, end_us)
    hours = connection.execute(
        sa.select(_usage.c.gpu_hours).where(_usage.c.pool_id == pool.id, _usage.c.period == period)
    ).scalar()
    hours = int(hours or 0)
    average = index.average(connection, pool.product, start_us, end_us)
    revenue = 0 if average is None else hours * average
    return Owed(escrow, hours, average, revenue)
