"""A pool's report: its serviced periods, every payment to a noteholder, the triggers that broke and
its cash identity (:class:`~market.securitization.records.Conservation`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from market.ledger import AVAILABLE
from market.securitization.pools import RESERVE, _pool_row, pool_info
from market.securitization.records import Conservation, PaymentInfo, PeriodInfo, PoolReport
from market.securitization.tables import Pool, PoolPayment, PoolPeriod
from market.tables import Balance
from market.units import from_epoch_us

if TYPE_CHECKING:
    from market.house import House

_periods = PoolPeriod.__table__
_payments = PoolPayment.__table__
_balances = Balance.__table__


def report(house: House, pool_id: int) -> PoolReport:
    """The pool, its periods, payments, triggers and conservation, read in one snapshot."""
    with house.read() as connection:
        row = _pool_row(connection, pool_id)
        periods = [_period(p) for p in _period_rows(connection, pool_id)]
        payments = tuple(
            PaymentInfo(p.period, p.symbol, p.account_id, p.lots, p.interest_micros, p.principal_micros)
            for p in connection.execute(
                sa.select(_payments).where(_payments.c.pool_id == pool_id).order_by(_payments.c.id)
            )
        )
        return PoolReport(
            pool=pool_info(connection, row),
            periods=tuple(periods),
            payments=payments,
            conservation=conservation(connection, row),
            triggers=tuple((p.period, tranche) for p in periods for tranche in p.breaches),
        )


def _period_rows(connection: sa.Connection, pool_id: int) -> list[sa.Row]:
    return list(
        connection.execute(
            sa.select(_periods).where(_periods.c.pool_id == pool_id).order_by(_periods.c.period)
        )
    )


def _period(p: sa.Row) -> PeriodInfo:
    return PeriodInfo(
        period=p.period,
        start=from_epoch_us(p.start_us),
        end=from_epoch_us(p.end_us),
        escrow_micros=p.escrow_micros,
        usage_gpu_hours=p.usage_gpu_hours,
        index_micros=p.index_micros,
        index_revenue_micros=p.index_revenue_micros,
        remitted_micros=p.remitted_micros,
        shortfall_micros=p.shortfall_micros,
        fees_micros=p.fees_micros,
        interest_micros=p.interest_micros,
        principal_micros=p.principal_micros,
        residual_micros=p.residual_micros,
        reserve_micros=p.reserve_micros,
        residue_micros=p.residue_micros,
        breaches=tuple(p.breaches.split(",")) if p.breaches else (),
        serviced_at=from_epoch_us(p.serviced_us),
    )


def unbalanced(connection: sa.Connection) -> list[tuple[str, int, int, int]]:
    """``(code, cash in, paid out, held)`` of every pool whose cash identity fails (an invariant of
    :func:`market.invariants.check`)."""
    rows = []
    for pool in connection.execute(sa.select(Pool.__table__).order_by(Pool.__table__.c.id)):
        c = conservation(connection, pool)
        if not c.balanced:
            rows.append((pool.code, c.cash_in_micros, c.paid_out_micros, c.held_micros))
    return rows


def conservation(connection: sa.Connection, pool: sa.Row) -> Conservation:
    """Initial reserve + remittances against fees + coupons + principal + residual (+ the residue
    released after the last period) + the issuing account's cash and reserve in the ledger."""
    rows = _period_rows(connection, pool.id)
    paid = sum(p.fees_micros + p.interest_micros + p.principal_micros + p.residual_micros for p in rows)
    if pool.status == "retired" and rows:
        paid += rows[-1].residue_micros
    held = connection.execute(
        sa.select(sa.func.coalesce(sa.func.sum(_balances.c.amount), 0)).where(
            _balances.c.owner == pool.issuer_id, _balances.c.bucket.in_((AVAILABLE, RESERVE))
        )
    ).scalar_one()
    return Conservation(
        cash_in_micros=pool.reserve_initial_micros + sum(p.remitted_micros for p in rows),
        paid_out_micros=paid,
        held_micros=int(held),
    )
