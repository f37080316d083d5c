"""What the pool use cases take and return: frozen records, money in micro-dollars, rates in ppm."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

SEQUENTIAL, PRO_RATA = "sequential", "pro_rata"
LINEAR, BULLET = "linear", "bullet"


@dataclass(frozen=True)
class NoteTerms:
    """One tranche to issue, most senior first in :class:`PoolTerms`: ``face_micros`` in total,
    ``coupon_ppm`` a year on the balance, optional OC / IC triggers (1.25 is 1_250_000 ppm)."""

    tranche: str
    face_micros: int
    coupon_ppm: int = 0
    oc_trigger_ppm: int | None = None
    ic_trigger_ppm: int | None = None


@dataclass(frozen=True)
class PoolTerms:
    """A pool to form: the sponsor's ``listing_ids``, the term (``periods`` of ``period_months`` from
    ``start``, a month's first instant), the notes and the waterfall's parameters (as in a deal of
    docs/securitization.md), and the face of one lot of every note (whole cents)."""

    code: str
    name: str
    listing_ids: tuple[int, ...]
    start: datetime
    periods: int
    notes: tuple[NoteTerms, ...]
    period_months: int = 1
    fees_fixed_micros: int = 0
    fees_rate_ppm: int = 0
    reserve_initial_micros: int = 0
    reserve_target_micros: int = 0
    principal: str = SEQUENTIAL
    amortisation: str = LINEAR
    lot_face_micros: int = 1_000_000_000


@dataclass(frozen=True)
class NoteInfo:
    """A note of a pool: its instrument, lots, face per lot now, balance and what it has received."""

    symbol: str
    tranche: str
    seniority: int
    lots: int
    lot_face_micros: int
    face_per_lot_micros: int
    coupon_ppm: int
    oc_trigger_ppm: int | None
    ic_trigger_ppm: int | None
    balance_micros: int
    interest_paid_micros: int
    principal_paid_micros: int
    writedown_micros: int
    interest_shortfall_micros: int
    status: str


@dataclass(frozen=True)
class PoolInfo:
    """A pool: its sponsor, its issuing account (which holds its cash), term, listings and notes."""

    id: int
    code: str
    name: str
    sponsor_id: str
    issuer_id: str
    product: str
    start: datetime
    end: datetime
    periods: int
    period_months: int
    fees_fixed_micros: int
    fees_rate_ppm: int
    reserve_initial_micros: int
    reserve_target_micros: int
    principal: str
    amortisation: str
    serviced: int
    status: str
    listing_ids: tuple[int, ...]
    notes: tuple[NoteInfo, ...]
    cash_micros: int
    """The issuing account's collections not yet paid out (rounding residue carried forward)."""
    reserve_micros: int
    next_due: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class PeriodInfo:
    """One serviced period: owed (escrow, index revenue), remitted, paid, held, breached."""

    period: int
    start: datetime
    end: datetime
    escrow_micros: int
    usage_gpu_hours: int
    index_micros: int | None
    index_revenue_micros: int
    remitted_micros: int
    shortfall_micros: int
    fees_micros: int
    interest_micros: int
    principal_micros: int
    residual_micros: int
    reserve_micros: int
    residue_micros: int
    breaches: tuple[str, ...]
    serviced_at: datetime


@dataclass(frozen=True)
class PaymentInfo:
    """What one holder of one note received in one period."""

    period: int
    symbol: str
    account_id: str
    lots: int
    interest_micros: int
    principal_micros: int


@dataclass(frozen=True)
class Conservation:
    """The pool's cash identity: everything in equals everything out plus what it still holds."""

    cash_in_micros: int
    """Initial reserve plus every remittance."""
    paid_out_micros: int
    """Fees, coupons, principal, residual (and the final residue) paid."""
    held_micros: int
    """The issuing account's cash and reserve now."""

    @property
    def balanced(self) -> bool:
        """Whether in equals out plus held, to the micro-dollar."""
        return self.cash_in_micros == self.paid_out_micros + self.held_micros


@dataclass(frozen=True)
class PoolReport:
    """A pool with its serviced periods, its payments and its cash identity."""

    pool: PoolInfo
    periods: tuple[PeriodInfo, ...]
    payments: tuple[PaymentInfo, ...]
    conservation: Conservation
    triggers: tuple[tuple[int, str], ...] = field(default=())
    """(period, tranche) of every breached OC or IC test."""


@dataclass(frozen=True)
class ServiceReport:
    """What a servicing call did: the periods it serviced, per pool."""

    serviced: tuple[tuple[str, int], ...]
    """(pool code, period) in the order they were serviced."""
    retired: tuple[str, ...] = ()
    """Notes whose last period was paid: their books closed (resting orders cancelled, reason
    ``note_retired``)."""
