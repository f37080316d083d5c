"""Forming a pool, the sponsor's usage reports, and reading pools.

A provider (the *sponsor*) forms a pool from listings of its own on one product: the pool is an
account of its own (the *issuing account*, the deal's special-purpose vehicle, with no API key) that
holds the deal's cash -- its ``available`` bucket the collections not yet paid out, its ``reserve``
bucket the reserve account -- and issues one note per tranche (:mod:`market.securitization.notes`),
every lot going to the sponsor to sell on the books. The sponsor funds the initial reserve.

The waterfall's terms are checked by the pricing library's deal validation
(:func:`pricing.securitization.deal.check_deal`), so a pool is exactly a deal the library can price.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from market import catalog
from market.accounts import PROVIDER, account, new_account_id
from market.errors import AlreadyExistsError, ForbiddenError, InvalidRequestError, NotFoundError
from market.ledger import AVAILABLE, SYSTEM, bucket_rows
from market.securitization import collections, notes
from market.securitization.records import (
    BULLET,
    LINEAR,
    PRO_RATA,
    SEQUENTIAL,
    NoteInfo,
    PoolInfo,
    PoolTerms,
)
from market.securitization.tables import Pool, PoolListing, PoolNote, PoolUsage
from market.securitization.terms import deal_of
from market.store import insert_ignore
from market.tables import Account, Balance, Instrument, Listing
from market.units import MAX_MICROS, from_epoch_us, to_epoch_us

if TYPE_CHECKING:
    from market.house import House

RESERVE = "reserve"
"""The issuing account's reserve bucket (beside the usual account buckets)."""
MAX_PERIODS = 120
FIRST_YEAR, LAST_YEAR = 2000, 2200
_pools = Pool.__table__
_pooled = PoolListing.__table__
_notes = PoolNote.__table__
_usage = PoolUsage.__table__
_listings = Listing.__table__
_instruments = Instrument.__table__
_balances = Balance.__table__


def period_bounds(start_us: int, period_months: int, period: int) -> tuple[int, int]:
    """``[start, end)`` of ``period`` (0-based) of a pool starting at ``start_us``."""

    def months_after(k: int) -> int:
        start = from_epoch_us(start_us)
        years, month = divmod(start.month - 1 + k, 12)
        return to_epoch_us(start.replace(year=start.year + years, month=month + 1))

    return months_after(period * period_months), months_after((period + 1) * period_months)


def create_pool(house: House, sponsor_id: str, terms: PoolTerms) -> PoolInfo:
    """Form a pool of the sponsor's listings and issue its notes to the sponsor (see the module)."""
    if PROVIDER not in account(house, sponsor_id).roles:
        raise ForbiddenError("forming a pool of listings needs the provider role")
    _check_terms(terms)
    start_us = to_epoch_us(terms.start)
    end_us = period_bounds(start_us, terms.period_months, terms.periods - 1)[1]
    with house.transaction() as uow:
        connection = uow.connection
        product = _pooled_product(connection, sponsor_id, terms.listing_ids, start_us, end_us)
        deal_of(terms, product, sponsor_id, (), 1)  # the library's checks of the waterfall's terms
        if connection.execute(sa.select(_pools.c.id).where(_pools.c.code == terms.code)).first():
            raise AlreadyExistsError(f"a pool {terms.code} exists", field="code")
        issuer = new_account_id()
        connection.execute(
            Account.__table__.insert(),
            {"id": issuer, "name": f"pool {terms.code}", "roles": PROVIDER, "created_us": uow.now_us},
        )
        connection.execute(_balances.insert(), [*bucket_rows(issuer), _reserve_row(issuer)])
        insert_ignore(connection, _balances, bucket_rows(SYSTEM))
        pool_id = connection.execute(
            _pools.insert().returning(_pools.c.id),
            {
                "code": terms.code,
                "name": terms.name,
                "sponsor_id": sponsor_id,
                "issuer_id": issuer,
                "product": product,
                "start_us": start_us,
                "periods": terms.periods,
                "period_months": terms.period_months,
                "fees_fixed_micros": terms.fees_fixed_micros,
                "fees_rate_ppm": terms.fees_rate_ppm,
                "reserve_initial_micros": terms.reserve_initial_micros,
                "reserve_target_micros": terms.reserve_target_micros,
                "principal": terms.principal,
                "amortisation": terms.amortisation,
                "serviced": 0,
                "status": "active",
                "created_us": uow.now_us,
            },
        ).scalar_one()
        connection.execute(
            _pooled.insert(), [{"listing_id": i, "pool_id": pool_id} for i in terms.listing_ids]
        )
        # before the books change: a refusal must leave them as they were
        uow.ledger.move(
            (sponsor_id, AVAILABLE), (issuer, RESERVE), terms.reserve_initial_micros, "the initial reserve"
        )
        uow.ledger.post("pool_reserve", account_id=sponsor_id, ref=f"pool:{terms.code}")
        rows = [
            notes.instrument_row(terms.code, n.tranche, product, start_us, end_us, terms.lot_face_micros)
            for n in terms.notes
        ]
        catalog.list_rows(house, uow, rows)
        trading = house.books()
        for seniority, (note, row) in enumerate(zip(terms.notes, rows, strict=True)):
            lots = note.face_micros // terms.lot_face_micros
            connection.execute(
                _notes.insert(),
                {
                    "symbol": row["symbol"],
                    "pool_id": pool_id,
                    "seniority": seniority,
                    "tranche": note.tranche,
                    "lots": lots,
                    "lot_face_micros": terms.lot_face_micros,
                    "coupon_ppm": note.coupon_ppm,
                    "oc_trigger_ppm": note.oc_trigger_ppm,
                    "ic_trigger_ppm": note.ic_trigger_ppm,
                    "balance_micros": note.face_micros,
                    "interest_paid_micros": 0,
                    "principal_paid_micros": 0,
                    "writedown_micros": 0,
                    "interest_shortfall_micros": 0,
                },
            )
            notes.issue(uow, trading.instrument(row["symbol"]), issuer, sponsor_id, lots)
    return pool(house, pool_id)


def _reserve_row(owner: str) -> dict[str, object]:
    return {"owner": owner, "bucket": RESERVE, "amount": 0, "allow_negative": False}


def _check_terms(terms: PoolTerms) -> None:
    notes.check_names(terms.code, [n.tranche for n in terms.notes])
    if not isinstance(terms.name, str) or not 0 < len(terms.name.strip()) <= 200:
        raise InvalidRequestError("name must be 1-200 characters", field="name")
    if not terms.listing_ids or len(set(terms.listing_ids)) != len(terms.listing_ids):
        raise InvalidRequestError("give one or more distinct listing ids", field="listing_ids")
    if not 1 <= len(terms.notes) <= 20:
        raise InvalidRequestError("a pool issues 1 to 20 notes", field="notes")
    start = terms.start
    if start.tzinfo is None or start != datetime(start.year, start.month, 1, tzinfo=UTC):
        raise InvalidRequestError("a pool starts at the first instant of a UTC month", field="start")
    if not FIRST_YEAR <= start.year <= LAST_YEAR:
        raise InvalidRequestError(f"a pool starts between {FIRST_YEAR} and {LAST_YEAR}", field="start")
    for field, value, low, high in (
        ("periods", terms.periods, 1, MAX_PERIODS),
        ("period_months", terms.period_months, 1, 12),
        ("fees_rate_ppm", terms.fees_rate_ppm, 0, 1_000_000),
        ("fees_fixed_micros", terms.fees_fixed_micros, 0, MAX_MICROS),
        ("reserve_initial_micros", terms.reserve_initial_micros, 0, MAX_MICROS),
        ("reserve_target_micros", terms.reserve_target_micros, 0, MAX_MICROS),
        ("lot_face_micros", terms.lot_face_micros, notes.CENT, MAX_MICROS),
    ):
        if type(value) is not int or not low <= value <= high:
            raise InvalidRequestError(f"{field} must be a whole number from {low} to {high}", field=field)
    if terms.lot_face_micros % notes.CENT:
        raise InvalidRequestError("the face of a lot is whole cents", field="lot_face")
    if terms.principal not in (SEQUENTIAL, PRO_RATA):
        raise InvalidRequestError("principal is sequential or pro_rata", field="principal")
    if terms.amortisation not in (LINEAR, BULLET):
        raise InvalidRequestError("amortisation is linear or bullet", field="amortisation")
    for i, note in enumerate(terms.notes):
        at = f"notes[{i}]"
        if type(note.face_micros) is not int or not 0 < note.face_micros <= MAX_MICROS:
            raise InvalidRequestError("face must be positive", field=f"{at}.face")
        if note.face_micros % terms.lot_face_micros:
            raise InvalidRequestError("face must be a whole number of lots", field=f"{at}.face")
        if type(note.coupon_ppm) is not int or not 0 <= note.coupon_ppm <= 1_000_000:
            raise InvalidRequestError("coupon must be between 0 and 1", field=f"{at}.coupon")
        for name, trigger in (("oc_trigger", note.oc_trigger_ppm), ("ic_trigger", note.ic_trigger_ppm)):
            if trigger is not None and (type(trigger) is not int or not 0 < trigger <= 100_000_000):
                raise InvalidRequestError("a trigger is above 0 and at most 100", field=f"{at}.{name}")
    if sum(n.face_micros for n in terms.notes) > MAX_MICROS:
        raise InvalidRequestError("the notes' faces add up beyond any real deal", field="notes")


def _pooled_product(
    connection: sa.Connection, sponsor_id: str, listing_ids: tuple[int, ...], start_us: int, end_us: int
) -> str:
    """The one product of the listings, after checking they are the sponsor's, unpooled and in term."""
    rows = {r.id: r for r in connection.execute(sa.select(_listings).where(_listings.c.id.in_(listing_ids)))}
    taken = set(
        connection.execute(
            sa.select(_pooled.c.listing_id).where(_pooled.c.listing_id.in_(listing_ids))
        ).scalars()
    )
    for i, listing_id in enumerate(listing_ids):
        row = rows.get(listing_id)
        if row is None or row.provider_id != sponsor_id:
            raise NotFoundError(f"no listing {listing_id} of yours", field=f"listing_ids[{i}]")
        if listing_id in taken:
            raise AlreadyExistsError(f"listing {listing_id} backs a pool already", field=f"listing_ids[{i}]")
        if row.window_end_us <= start_us or row.window_start_us >= end_us:
            raise InvalidRequestError(
                f"listing {listing_id} does not cover any of the pool's term", field=f"listing_ids[{i}]"
            )
    products = {rows[i].product for i in listing_ids}
    if len(products) != 1:
        raise InvalidRequestError("a pool holds one product's listings", field="listing_ids")
    return products.pop()


def report_usage(house: House, sponsor_id: str, pool_id: int, period: int, gpu_hours: int) -> int:
    """The sponsor reports the pooled GPU-hours it rented at the index in ``period`` (before the
    period is serviced; a new report replaces the last). Returns the GPU-hours recorded."""
    with house.db.begin() as connection:
        row = _pool_row(connection, pool_id)
        if row.sponsor_id != sponsor_id:
            raise ForbiddenError("only the pool's sponsor reports its usage")
        if type(period) is not int or not 0 <= period < row.periods:
            raise InvalidRequestError(f"period must be 0 to {row.periods - 1}", field="period")
        if period < row.serviced:
            raise InvalidRequestError(f"period {period} was serviced already", field="period")
        start, end = period_bounds(row.start_us, row.period_months, period)
        most = collections.listed_gpu_hours(connection, pool_id, start, end)
        if type(gpu_hours) is not int or not 0 <= gpu_hours <= most:
            raise InvalidRequestError(
                f"gpu_hours must be 0 to the {most} GPU-hours the pooled listings cover", field="gpu_hours"
            )
        connection.execute(_usage.delete().where(_usage.c.pool_id == pool_id, _usage.c.period == period))
        connection.execute(
            _usage.insert(),
            {"pool_id": pool_id, "period": period, "gpu_hours": gpu_hours, "reported_us": house.now_us()},
        )
    return gpu_hours


def _pool_row(connection: sa.Connection, pool_id: int) -> sa.Row:
    row = connection.execute(sa.select(_pools).where(_pools.c.id == pool_id)).one_or_none()
    if row is None:
        raise NotFoundError(f"no pool {pool_id}", field="pool_id")
    return row


def pools(house: House, *, sponsor_id: str | None = None) -> list[PoolInfo]:
    """Every pool (or a sponsor's), oldest first."""
    query = sa.select(_pools.c.id).order_by(_pools.c.id)
    if sponsor_id is not None:
        query = query.where(_pools.c.sponsor_id == sponsor_id)
    with house.read() as connection:
        return [pool_info(connection, _pool_row(connection, i)) for i in connection.execute(query).scalars()]


def pool(house: House, pool_id: int) -> PoolInfo:
    """One pool; ``not_found`` if there is none."""
    with house.read() as connection:
        return pool_info(connection, _pool_row(connection, pool_id))


def pool_info(connection: sa.Connection, row: sa.Row) -> PoolInfo:
    """The record of a pool row, with its listings, notes and cash."""
    listing_ids = tuple(
        connection.execute(
            sa.select(_pooled.c.listing_id).where(_pooled.c.pool_id == row.id).order_by(_pooled.c.listing_id)
        ).scalars()
    )
    note_rows = connection.execute(
        sa.select(_notes, _instruments.c.face_micros, _instruments.c.status)
        .join(_instruments, _instruments.c.symbol == _notes.c.symbol)
        .where(_notes.c.pool_id == row.id)
        .order_by(_notes.c.seniority)
    ).all()
    balances = dict(
        connection.execute(
            sa.select(_balances.c.bucket, _balances.c.amount).where(_balances.c.owner == row.issuer_id)
        ).all()
    )
    end_us = period_bounds(row.start_us, row.period_months, row.periods - 1)[1]
    next_due = (
        None
        if row.serviced >= row.periods
        else from_epoch_us(period_bounds(row.start_us, row.period_months, row.serviced)[1])
    )
    return PoolInfo(
        id=row.id,
        code=row.code,
        name=row.name,
        sponsor_id=row.sponsor_id,
        issuer_id=row.issuer_id,
        product=row.product,
        start=from_epoch_us(row.start_us),
        end=from_epoch_us(end_us),
        periods=row.periods,
        period_months=row.period_months,
        fees_fixed_micros=row.fees_fixed_micros,
        fees_rate_ppm=row.fees_rate_ppm,
        reserve_initial_micros=row.reserve_initial_micros,
        reserve_target_micros=row.reserve_target_micros,
        principal=row.principal,
        amortisation=row.amortisation,
        serviced=row.serviced,
        status=row.status,
        listing_ids=listing_ids,
        notes=tuple(
            NoteInfo(
                symbol=n.symbol,
                tranche=n.tranche,
                seniority=n.seniority,
                lots=n.lots,
                lot_face_micros=n.lot_face_micros,
                face_per_lot_micros=n.face_micros,
                coupon_ppm=n.coupon_ppm,
                oc_trigger_ppm=n.oc_trigger_ppm,
                ic_trigger_ppm=n.ic_trigger_ppm,
                balance_micros=n.balance_micros,
                interest_paid_micros=n.interest_paid_micros,
                principal_paid_micros=n.principal_paid_micros,
                writedown_micros=n.writedown_micros,
                interest_shortfall_micros=n.interest_shortfall_micros,
                status=n.status,
            )
            for n in note_rows
        ),
        cash_micros=int(balances.get(AVAILABLE, 0)),
        reserve_micros=int(balances.get(RESERVE, 0)),
        next_due=next_due,
        created_at=from_epoch_us(row.created_us),
    )
