"""Servicing: each period the pool's actual cash runs through the pricing library's waterfall and
is paid to the noteholders by ledger transfers.

For a period ``t`` whose end has passed (the lifecycle duty ``service_pools`` or
``POST /v1/admin/pools/{id}/service``), in one transaction:

1. **Remittance**: the sponsor owes the pool the period's collections
   (:mod:`market.securitization.collections`) and pays what its free cash covers into the issuing
   account; the rest is the period's ``shortfall`` (a loss to the pool, recorded, not recovered).
2. **Waterfall**: :func:`pricing.securitization.waterfall.run` runs on the realised path -- the
   remittances of periods ``0..t`` (later periods zero; the waterfall is causal, so they change nothing
   up to ``t``), the OC collateral from :func:`~pricing.securitization.pool.run_rate_collateral` --
   with the pool's terms as a deal (:mod:`market.securitization.terms`). The same code prices deals.
3. **Payment**: the waterfall's cumulative flows to the end of ``t`` are rounded to micro-dollars; each
   note pays per lot what brings its per-lot cumulative coupon up to ``floor(cumulative / lots)`` and
   its per-lot principal up to the whole cents below ``cumulative / lots``; every holder of the note
   receives per lot x lots held, one ledger transfer each (``pool_payment``, ref ``SYMBOL:t``). Fees go
   to the exchange's ``fees`` (the exchange is trustee and paying agent), the residual to the sponsor
   (it keeps the equity), and the reserve bucket is set to the waterfall's reserve balance.
4. **Residue**: what rounding leaves (under one micro-dollar of coupon and one cent of principal per
   lot of each note, plus the sub-micro-dollar parts of fees and residual) stays in the issuing
   account and is recorded as the period's ``residue``; because payments chase the *cumulative*
   flows, it is paid with a later period as soon as it makes a whole unit per lot. After the last
   period the pool holds nothing: the final residue goes to the sponsor (recorded as that period's
   ``residue``), unpaid principal is written down and the notes are retired (books closed, settled).

Beside shards (``flopex serve --products``) the elected clearing process services: the waterfall,
the payments and the period's record are rows any process may write, but a note's face and its
retirement change the instrument in the book holding it. For a note whose book another shard holds,
the servicing locks the note's row before moving any cash, writes the new face (and the retirement)
to it, and writes instructions (``note_face``, ``note_retire``) that the shard applies in its book
exactly once (:mod:`market.clearing.outbox`: the book's instrument revised, a retired note's resting
orders cancelled). Until then that shard reads the row before any order on the note
(:func:`market.securitization.notes.current`), so no trade falls between the payment and the face.

Triggers (OC and IC breaches of each note) are recorded per period. The pool's conservation --
initial reserve plus remittances equal everything paid plus what the pool holds -- is checked by
:func:`market.securitization.reports.conservation` after every period in the tests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import sqlalchemy as sa

from market.clearing import outbox
from market.errors import ClearingElsewhereError
from market.ledger import AVAILABLE, FEES, SYSTEM
from market.securitization import collections, notes
from market.securitization.pools import RESERVE, period_bounds
from market.securitization.records import ServiceReport
from market.securitization.tables import Pool, PoolNote, PoolPayment, PoolPeriod
from market.securitization.terms import deal_of, stored_terms
from market.store import UnitOfWork
from market.tables import Listing, Position
from pricing.securitization.pool import run_rate_collateral
from pricing.securitization.waterfall import Flows, run

if TYPE_CHECKING:
    from market.house import House

_pools = Pool.__table__
_notes = PoolNote.__table__
_periods = PoolPeriod.__table__
_payments = PoolPayment.__table__
_positions = Position.__table__
_listings = Listing.__table__


def service_due(house: House, pool_id: int | None = None) -> ServiceReport:
    """Service, in order, every period whose end has passed of every active pool (or of one);
    idempotent: a period is serviced once. On a shard only the elected clearing process services
    (``clearing_elsewhere`` otherwise); what a note's book needs goes to the shard holding it as
    instructions (:mod:`market.clearing.outbox`)."""
    if house.products is not None and not house.elect():
        raise ClearingElsewhereError("another shard holds the clearing lock and services the pools")
    query = sa.select(_pools.c.id).where(_pools.c.status == "active").order_by(_pools.c.id)
    if pool_id is not None:
        from market.securitization.pools import pool

        pool(house, pool_id)  # not_found for an unknown pool
        query = query.where(_pools.c.id == pool_id)
    with house.read() as connection:
        ids = list(connection.execute(query).scalars())
    done: list[tuple[str, int]] = []
    retired: list[str] = []
    for one in ids:
        while (serviced := _service_next(house, one, retired)) is not None:
            done.append(serviced)
    return ServiceReport(tuple(done), tuple(retired))


def next_due_us(house: House) -> int | None:
    """When the next period of any active pool ends (None without active pools)."""
    with house.read() as connection:
        rows = connection.execute(sa.select(_pools).where(_pools.c.status == "active")).all()
    ends = [period_bounds(r.start_us, r.period_months, r.serviced)[1] for r in rows if r.serviced < r.periods]
    return min(ends, default=None)


def _service_next(house: House, pool_id: int, retired: list[str]) -> tuple[str, int] | None:
    """Service the pool's next period if its end has passed; returns (code, period) or None, and
    adds the notes a last period retired to ``retired``."""
    with house.transaction() as uow:
        pool = uow.connection.execute(sa.select(_pools).where(_pools.c.id == pool_id)).one()
        if pool.status != "active" or pool.serviced >= pool.periods:
            return None
        start, end = period_bounds(pool.start_us, pool.period_months, pool.serviced)
        if end > uow.now_us:
            return None
        retired.extend(_service(house, uow, pool, pool.serviced, start, end))
        return pool.code, pool.serviced


def _service(house: House, uow: UnitOfWork, pool: sa.Row, t: int, start: int, end: int) -> list[str]:
    """Service period ``t`` of ``pool`` (see the module); returns the notes it retired."""
    connection, ledger, issuer = uow.connection, uow.ledger, pool.issuer_id
    ref = f"pool:{pool.code}:{t}"
    trading = house.books()
    symbols = connection.execute(sa.select(_notes.c.symbol).where(_notes.c.pool_id == pool.id)).scalars()
    notes.lock(uow, [s for s in symbols if s not in trading.instruments])  # another shard's books
    owed = collections.owed(connection, pool, t, start, end)
    remitted = min(owed.total_micros, ledger.balance(pool.sponsor_id, AVAILABLE))
    ledger.move((pool.sponsor_id, AVAILABLE), (issuer, AVAILABLE), remitted, "the pool's collections")
    ledger.post("pool_collection", account_id=pool.sponsor_id, ref=ref)

    history = connection.execute(
        sa.select(_periods).where(_periods.c.pool_id == pool.id).order_by(_periods.c.period)
    ).all()
    note_rows = connection.execute(
        sa.select(_notes).where(_notes.c.pool_id == pool.id).order_by(_notes.c.seniority)
    ).all()
    flows = _waterfall(connection, pool, history, remitted, owed.index_micros)
    last = t == pool.periods - 1

    fees_due = _cumulative(flows.fees[: t + 1]) - sum(p.fees_micros for p in history)
    residual_due = _cumulative(flows.residual[: t + 1]) - sum(p.residual_micros for p in history)
    reserve_target = 0 if last else round(float(flows.reserve[t, 0]) * 1e6)
    pot = ledger.balance(issuer, AVAILABLE) + ledger.balance(issuer, RESERVE)
    fees = min(max(fees_due, 0), pot)
    pot -= fees
    per_lot = []
    for j, note in enumerate(note_rows):
        interest_target = _cumulative(flows.interest[j, : t + 1]) // note.lots
        interest = min(max(interest_target - note.interest_paid_micros // note.lots, 0), pot // note.lots)
        pot -= interest * note.lots
        per_lot.append([interest, 0])
    for j, note in enumerate(note_rows):
        cents = _cumulative(flows.principal[j, : t + 1]) // note.lots // notes.CENT * notes.CENT
        target = min(cents, note.lot_face_micros)
        principal = max(target - note.principal_paid_micros // note.lots, 0)
        principal = min(principal, pot // note.lots // notes.CENT * notes.CENT)
        pot -= principal * note.lots
        per_lot[j][1] = principal
    residual = min(max(residual_due, 0), pot)
    pot -= residual
    reserve = min(reserve_target, pot)
    residue = pot - reserve

    shift = reserve - ledger.balance(issuer, RESERVE)
    if shift < 0:
        ledger.move((issuer, RESERVE), (issuer, AVAILABLE), -shift)
    ledger.move((issuer, AVAILABLE), (SYSTEM, FEES), fees, "the pool's fees")
    ledger.move((issuer, AVAILABLE), (pool.sponsor_id, AVAILABLE), residual + (residue if last else 0))
    if shift > 0:
        ledger.move((issuer, AVAILABLE), (issuer, RESERVE), shift)
    ledger.post("pool_waterfall", account_id=pool.sponsor_id, ref=ref)

    for j, note in enumerate(note_rows):
        interest, principal = per_lot[j]
        _pay_holders(uow, pool, note, t, interest, principal)
        balance = note.balance_micros - principal * note.lots
        values: dict[str, int] = {
            "interest_paid_micros": note.interest_paid_micros + interest * note.lots,
            "principal_paid_micros": note.principal_paid_micros + principal * note.lots,
            "balance_micros": 0 if last else balance,
        }
        if last:
            values["writedown_micros"] = balance
            values["interest_shortfall_micros"] = round(float(flows.interest_shortfall[j, 0]) * 1e6)
        connection.execute(_notes.update().where(_notes.c.symbol == note.symbol).values(**values))
        if note.symbol not in trading.instruments:  # another shard's book: the row now, the book by it
            face = note.lot_face_micros - note.principal_paid_micros // note.lots - principal
            notes.write(uow, note.symbol, face, retired=last)
            if principal:
                outbox.revise_note(uow, pool.product, note.symbol, face)
            if last:
                outbox.revise_note(uow, pool.product, note.symbol, None)
            continue
        if principal:
            face = trading.instrument(note.symbol).face_micros
            notes.set_face(uow, trading, note.symbol, face - principal)
        if last:
            notes.retire(uow, trading, note.symbol)
    breaches = ",".join(n.tranche for j, n in enumerate(note_rows) if flows.breach[j, t, 0])
    connection.execute(
        _periods.insert(),
        {
            "pool_id": pool.id,
            "period": t,
            "start_us": start,
            "end_us": end,
            "escrow_micros": owed.escrow_micros,
            "usage_gpu_hours": owed.usage_gpu_hours,
            "index_micros": owed.index_micros,
            "index_revenue_micros": owed.index_revenue_micros,
            "remitted_micros": remitted,
            "shortfall_micros": owed.total_micros - remitted,
            "fees_micros": fees,
            "interest_micros": sum(i * n.lots for (i, _), n in zip(per_lot, note_rows, strict=True)),
            "principal_micros": sum(p * n.lots for (_, p), n in zip(per_lot, note_rows, strict=True)),
            "residual_micros": residual,
            "reserve_micros": reserve,
            "residue_micros": residue,
            "breaches": breaches,
            "serviced_us": uow.now_us,
        },
    )
    connection.execute(
        _pools.update()
        .where(_pools.c.id == pool.id)
        .values(serviced=t + 1, status="retired" if last else "active")
    )
    return [n.symbol for n in note_rows] if last else []


def _cumulative(flow: np.ndarray) -> int:
    """A flow of the waterfall summed over periods (on the one path), in whole micro-dollars."""
    return round(float(np.sum(flow)) * 1e6)


def _waterfall(
    connection: sa.Connection, pool: sa.Row, history: list[sa.Row], remitted: int, index_micros: int | None
) -> Flows:
    """The library's waterfall on the pool's realised path up to this period."""
    terms = stored_terms(connection, pool)
    cash = np.zeros((pool.periods, 1))
    received = [p.remitted_micros for p in history] + [remitted]
    cash[: len(received), 0] = np.array(received, dtype=float) / 1e6
    index_path = tuple((p or 0) / 1e6 for p in [*(h.index_micros for h in history), index_micros])
    gpus = connection.execute(
        sa.select(sa.func.coalesce(sa.func.sum(_listings.c.gpus), 0)).where(
            _listings.c.id.in_(terms.listing_ids)
        )
    ).scalar_one()
    deal = deal_of(terms, pool.product, pool.sponsor_id, index_path, int(gpus))
    return run(deal, cash, run_rate_collateral(cash))


def _pay_holders(uow: UnitOfWork, pool: sa.Row, note: sa.Row, t: int, interest: int, principal: int) -> None:
    """Pay ``interest`` and ``principal`` per lot to every holder of the note, one transfer each."""
    holders = [
        p
        for p in uow.load_positions(_positions.c.symbol == note.symbol)
        if p["qty"] > 0 and p["account_id"] != pool.issuer_id
    ]
    held = sum(p["qty"] for p in holders)
    if held != note.lots:
        raise RuntimeError(f"{note.symbol}: holders hold {held} lots of the {note.lots} issued")
    rows = []
    for position in sorted(holders, key=lambda p: p["account_id"]):
        lots, holder = position["qty"], position["account_id"]
        uow.ledger.move(
            (pool.issuer_id, AVAILABLE),
            (holder, AVAILABLE),
            lots * (interest + principal),
            "the note payment",
        )
        uow.ledger.post("pool_payment", account_id=holder, ref=f"{note.symbol}:{t}")
        rows.append(
            {
                "pool_id": pool.id,
                "period": t,
                "symbol": note.symbol,
                "account_id": holder,
                "lots": lots,
                "interest_micros": lots * interest,
                "principal_micros": lots * principal,
                "created_us": uow.now_us,
            }
        )
    if rows and (interest or principal):
        uow.connection.execute(_payments.insert(), rows)
