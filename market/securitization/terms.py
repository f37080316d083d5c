"""A pool's terms as a deal of the pricing library, so that the exchange's pools run the very
waterfall the library prices (:func:`pricing.securitization.waterfall.run`) and are validated by the
same rules (:func:`pricing.securitization.deal.parse_deal`).

The library works in floating USD; this is the one place the pool's integers become its floats
(face and fees: micro-dollars / 10^6; coupons and triggers: ppm / 10^6). The deal's index is the
realised index path (zero for periods not yet observed) and its single asset the pooled GPUs; the
waterfall reads neither (it takes the period's cash), they make the deal a valid, truthful record.
"""

from __future__ import annotations

import sqlalchemy as sa

from market.errors import InvalidRequestError
from market.securitization.records import NoteTerms, PoolTerms
from market.securitization.tables import PoolListing, PoolNote
from market.units import from_epoch_us
from pricing.securitization.deal import Deal, DealError, parse_deal

_FIELDS = {
    "tranches": "notes",
    "reserve.initial": "reserve_initial",
    "reserve.target": "reserve_target",
    "fees.fixed": "fees_fixed",
    "fees.rate": "fees_rate",
}


def _usd(micros: int) -> float:
    return micros / 1e6


def _ratio(ppm: int | None) -> float | None:
    return None if ppm is None else ppm / 1e6


def deal_of(
    terms: PoolTerms, product: str, sponsor_id: str, index_path: tuple[float, ...], gpus: int
) -> Deal:
    """The library's deal for ``terms``; ``invalid_request`` naming the pool's field if it refuses."""
    path = list(index_path) + [0.0] * (terms.periods - len(index_path))
    tranches = []
    for note in terms.notes:
        tranche: dict[str, object] = {
            "name": note.tranche,
            "face": _usd(note.face_micros),
            "coupon": _ratio(note.coupon_ppm),
        }
        for key, ppm in (("oc_trigger", note.oc_trigger_ppm), ("ic_trigger", note.ic_trigger_ppm)):
            if ppm is not None:
                tranche[key] = _ratio(ppm)
        tranches.append(tranche)
    data = {
        "name": terms.code,
        "periods": terms.periods,
        "period_months": terms.period_months,
        "index": {"path": path},
        "providers": [{"name": sponsor_id}],
        "assets": [{"provider": sponsor_id, "product": product, "region": "pool", "gpus": gpus}],
        "tranches": tranches,
        "fees": {"fixed": _usd(terms.fees_fixed_micros), "rate": _ratio(terms.fees_rate_ppm)},
        "reserve": {
            "initial": _usd(terms.reserve_initial_micros),
            "target": _usd(terms.reserve_target_micros),
        },
        "principal": terms.principal,
        "amortisation": terms.amortisation,
    }
    try:
        return parse_deal(data)
    except DealError as exc:
        field = exc.path
        for theirs, ours in _FIELDS.items():
            if field.startswith(theirs):
                field = ours + field[len(theirs) :]
        raise InvalidRequestError(exc.reason, field=field) from None


def stored_terms(connection: sa.Connection, pool: sa.Row) -> PoolTerms:
    """The terms a stored pool was formed with."""
    notes = PoolNote.__table__
    pooled = PoolListing.__table__
    rows = connection.execute(
        sa.select(notes).where(notes.c.pool_id == pool.id).order_by(notes.c.seniority)
    ).all()
    listing_ids = connection.execute(
        sa.select(pooled.c.listing_id).where(pooled.c.pool_id == pool.id).order_by(pooled.c.listing_id)
    ).scalars()
    return PoolTerms(
        code=pool.code,
        name=pool.name,
        listing_ids=tuple(listing_ids),
        start=from_epoch_us(pool.start_us),
        periods=pool.periods,
        notes=tuple(
            NoteTerms(r.tranche, r.lots * r.lot_face_micros, r.coupon_ppm, r.oc_trigger_ppm, r.ic_trigger_ppm)
            for r in rows
        ),
        period_months=pool.period_months,
        fees_fixed_micros=pool.fees_fixed_micros,
        fees_rate_ppm=pool.fees_rate_ppm,
        reserve_initial_micros=pool.reserve_initial_micros,
        reserve_target_micros=pool.reserve_target_micros,
        principal=pool.principal,
        amortisation=pool.amortisation,
        lot_face_micros=rows[0].lot_face_micros,
    )
