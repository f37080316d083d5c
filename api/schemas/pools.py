"""Securitised pools: forming one (its notes issued at once), its state, its report, usage reports.

Money is a USD decimal string, coupons and fees rates are yearly decimal fractions (``"0.06"``),
triggers ratios (``"1.25"``), all exact to six decimals; notes' prices are per 100 of face
(docs/securitization.md).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from api.schemas.common import Instant, Money, Name, Request
from market.errors import InvalidAmountError
from market.securitization.records import (
    Conservation,
    NoteInfo,
    NoteTerms,
    PaymentInfo,
    PeriodInfo,
    PoolInfo,
    PoolReport,
    PoolTerms,
)
from market.units import dollars_to_micros, micros_to_dollars

Ratio = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[0-9]{1,3}(\.[0-9]{1,6})?$",
        description="a decimal number, at most six decimals",
        examples=["0.06"],
    ),
]
Code = Annotated[str, msgspec.Meta(pattern=r"^[A-Z][A-Z0-9]{1,11}$", examples=["GPUABS1"])]
Tranche = Annotated[str, msgspec.Meta(pattern=r"^[A-Z][A-Z0-9]{0,7}$", examples=["A"])]


def ppm(text: str, field: str) -> int:
    """``"1.25"`` -> ``1_250_000`` (the pattern already bounds the digits)."""
    value = Decimal(text) * 1_000_000
    if value != value.to_integral_value():
        raise InvalidAmountError(f"{field} has more than six decimals", field=field)
    return int(value)


def ratio(value: int | None) -> str | None:
    """``1_250_000`` -> ``"1.250000"``."""
    return None if value is None else micros_to_dollars(value)


class NoteCreate(Request):
    """A tranche to issue (most senior first): its total face, coupon, and optional OC / IC triggers."""

    tranche: Tranche
    face: Money
    coupon: Ratio = "0"
    oc_trigger: Ratio | None = None
    ic_trigger: Ratio | None = None


class PoolCreate(Request):
    """A pool of your listings (one product) and the notes it issues to you; the waterfall's terms as
    in a deal of docs/securitization.md. You fund ``reserve_initial`` from your available cash."""

    code: Code
    name: Name
    listing_ids: Annotated[
        list[Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]], msgspec.Meta(min_length=1, max_length=1000)
    ]
    start: Instant
    periods: Annotated[int, msgspec.Meta(ge=1, le=120)]
    notes: Annotated[list[NoteCreate], msgspec.Meta(min_length=1, max_length=20)]
    period_months: Annotated[int, msgspec.Meta(ge=1, le=12)] = 1
    fees_fixed: Money = "0"
    fees_rate: Ratio = "0"
    reserve_initial: Money = "0"
    reserve_target: Money = "0"
    principal: Literal["sequential", "pro_rata"] = "sequential"
    amortisation: Literal["linear", "bullet"] = "linear"
    lot_face: Money = "1000"

    def terms(self) -> PoolTerms:
        """The market's terms (integers), each amount checked and named."""
        return PoolTerms(
            code=self.code,
            name=self.name,
            listing_ids=tuple(self.listing_ids),
            start=self.start,
            periods=self.periods,
            notes=tuple(
                NoteTerms(
                    n.tranche,
                    dollars_to_micros(n.face, f"notes[{i}].face"),
                    ppm(n.coupon, f"notes[{i}].coupon"),
                    None if n.oc_trigger is None else ppm(n.oc_trigger, f"notes[{i}].oc_trigger"),
                    None if n.ic_trigger is None else ppm(n.ic_trigger, f"notes[{i}].ic_trigger"),
                )
                for i, n in enumerate(self.notes)
            ),
            period_months=self.period_months,
            fees_fixed_micros=dollars_to_micros(self.fees_fixed, "fees_fixed"),
            fees_rate_ppm=ppm(self.fees_rate, "fees_rate"),
            reserve_initial_micros=dollars_to_micros(self.reserve_initial, "reserve_initial"),
            reserve_target_micros=dollars_to_micros(self.reserve_target, "reserve_target"),
            principal=self.principal,
            amortisation=self.amortisation,
            lot_face_micros=dollars_to_micros(self.lot_face, "lot_face"),
        )


class UsageReport(Request):
    """The pooled GPU-hours you rented at the index in ``period`` (0-based), before it is serviced."""

    period: Annotated[int, msgspec.Meta(ge=0, le=1000)]
    gpu_hours: Annotated[int, msgspec.Meta(ge=0, le=10**12)]


class NoteOut(msgspec.Struct):
    """A note: its instrument, lots, face per lot now, balance and what it has paid or lost."""

    symbol: str
    tranche: str
    seniority: int
    lots: int
    lot_face: str
    face_per_lot: str
    coupon: str
    oc_trigger: str | None
    ic_trigger: str | None
    balance: str
    interest_paid: str
    principal_paid: str
    writedown: str
    interest_shortfall: str
    status: str

    @classmethod
    def of(cls, n: NoteInfo) -> NoteOut:
        return cls(
            symbol=n.symbol,
            tranche=n.tranche,
            seniority=n.seniority,
            lots=n.lots,
            lot_face=micros_to_dollars(n.lot_face_micros),
            face_per_lot=micros_to_dollars(n.face_per_lot_micros),
            coupon=micros_to_dollars(n.coupon_ppm),
            oc_trigger=ratio(n.oc_trigger_ppm),
            ic_trigger=ratio(n.ic_trigger_ppm),
            balance=micros_to_dollars(n.balance_micros),
            interest_paid=micros_to_dollars(n.interest_paid_micros),
            principal_paid=micros_to_dollars(n.principal_paid_micros),
            writedown=micros_to_dollars(n.writedown_micros),
            interest_shortfall=micros_to_dollars(n.interest_shortfall_micros),
            status=n.status,
        )


class PoolOut(msgspec.Struct):
    """A pool: sponsor, issuing account (it holds the pool's cash), term, terms, listings and notes."""

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
    fees_fixed: str
    fees_rate: str
    reserve_initial: str
    reserve_target: str
    principal: str
    amortisation: str
    serviced: int
    status: str
    listing_ids: list[int]
    notes: list[NoteOut]
    cash: str
    reserve: str
    next_due: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, p: PoolInfo) -> PoolOut:
        return cls(
            id=p.id,
            code=p.code,
            name=p.name,
            sponsor_id=p.sponsor_id,
            issuer_id=p.issuer_id,
            product=p.product,
            start=p.start,
            end=p.end,
            periods=p.periods,
            period_months=p.period_months,
            fees_fixed=micros_to_dollars(p.fees_fixed_micros),
            fees_rate=micros_to_dollars(p.fees_rate_ppm),
            reserve_initial=micros_to_dollars(p.reserve_initial_micros),
            reserve_target=micros_to_dollars(p.reserve_target_micros),
            principal=p.principal,
            amortisation=p.amortisation,
            serviced=p.serviced,
            status=p.status,
            listing_ids=list(p.listing_ids),
            notes=[NoteOut.of(n) for n in p.notes],
            cash=micros_to_dollars(p.cash_micros),
            reserve=micros_to_dollars(p.reserve_micros),
            next_due=p.next_due,
            created_at=p.created_at,
        )


class PeriodOut(msgspec.Struct):
    """A serviced period: owed (escrow + usage x index), remitted, paid by the waterfall, held back."""

    period: int
    start: datetime
    end: datetime
    escrow: str
    usage_gpu_hours: int
    index: str | None
    index_revenue: str
    remitted: str
    shortfall: str
    fees: str
    interest: str
    principal: str
    residual: str
    reserve: str
    residue: str
    breaches: list[str]
    serviced_at: datetime

    @classmethod
    def of(cls, p: PeriodInfo) -> PeriodOut:
        return cls(
            period=p.period,
            start=p.start,
            end=p.end,
            escrow=micros_to_dollars(p.escrow_micros),
            usage_gpu_hours=p.usage_gpu_hours,
            index=None if p.index_micros is None else micros_to_dollars(p.index_micros),
            index_revenue=micros_to_dollars(p.index_revenue_micros),
            remitted=micros_to_dollars(p.remitted_micros),
            shortfall=micros_to_dollars(p.shortfall_micros),
            fees=micros_to_dollars(p.fees_micros),
            interest=micros_to_dollars(p.interest_micros),
            principal=micros_to_dollars(p.principal_micros),
            residual=micros_to_dollars(p.residual_micros),
            reserve=micros_to_dollars(p.reserve_micros),
            residue=micros_to_dollars(p.residue_micros),
            breaches=list(p.breaches),
            serviced_at=p.serviced_at,
        )


class PaymentOut(msgspec.Struct):
    """What one holder of one note received in one period."""

    period: int
    symbol: str
    account_id: str
    lots: int
    interest: str
    principal: str

    @classmethod
    def of(cls, p: PaymentInfo) -> PaymentOut:
        return cls(
            p.period,
            p.symbol,
            p.account_id,
            p.lots,
            micros_to_dollars(p.interest_micros),
            micros_to_dollars(p.principal_micros),
        )


class ConservationOut(msgspec.Struct):
    """``cash_in`` (initial reserve + remittances) = ``paid_out`` + ``held``, exactly: ``balanced``."""

    cash_in: str
    paid_out: str
    held: str
    balanced: bool

    @classmethod
    def of(cls, c: Conservation) -> ConservationOut:
        return cls(
            micros_to_dollars(c.cash_in_micros),
            micros_to_dollars(c.paid_out_micros),
            micros_to_dollars(c.held_micros),
            c.balanced,
        )


class TriggerOut(msgspec.Struct):
    """A breached OC or IC test: the period and the tranche."""

    period: int
    tranche: str


class PoolReportOut(msgspec.Struct):
    """A pool with every serviced period, every payment, the breached triggers and its cash identity."""

    pool: PoolOut
    periods: list[PeriodOut]
    payments: list[PaymentOut]
    triggers: list[TriggerOut]
    conservation: ConservationOut

    @classmethod
    def of(cls, r: PoolReport) -> PoolReportOut:
        return cls(
            pool=PoolOut.of(r.pool),
            periods=[PeriodOut.of(p) for p in r.periods],
            payments=[PaymentOut.of(p) for p in r.payments],
            triggers=[TriggerOut(period, tranche) for period, tranche in r.triggers],
            conservation=ConservationOut.of(r.conservation),
        )


class ServicedOut(msgspec.Struct):
    """One period serviced: the pool's code and the period."""

    pool: str
    period: int


class ServiceOut(msgspec.Struct):
    """The periods a servicing call paid through the waterfall, in order (empty when none was due)."""

    serviced: list[ServicedOut]
