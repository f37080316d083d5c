"""Basket funds: defining one, its NAV and history, creations and redemptions, winding up.

Money is a USD decimal string exact to the micro-dollar; fees are parts per million of NAV
(docs/baskets.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from api.schemas.common import Name, Request
from market.baskets.records import (
    BasketInfo,
    BasketTerms,
    FlowInfo,
    FlowRequest,
    LegTerms,
    NavInfo,
    WindUpInfo,
)
from market.units import micros_to_dollars

Code = Annotated[
    str, msgspec.Meta(pattern=r"^[A-Z][A-Z0-9]{1,11}$", description="the unit's symbol", examples=["GPUB1"])
]
Symbol = Annotated[str, msgspec.Meta(min_length=1, max_length=64, examples=["H100-2027-01"])]
FeePpm = Annotated[int, msgspec.Meta(ge=0, le=100_000, description="parts per million of NAV")]


class LegCreate(Request):
    """Lots of one open cash-settled forward in each unit."""

    symbol: Symbol
    lots: Annotated[int, msgspec.Meta(ge=1, le=10_000)]


class BasketCreate(Request):
    """A fund whose unit holds a fixed strip of forwards; fees on cash and in-kind flows, and the most
    a cash flow's strip trades may stray from the marks."""

    symbol: Code
    name: Name
    legs: Annotated[list[LegCreate], msgspec.Meta(min_length=1, max_length=16)]
    fee_ppm: FeePpm = 2_000
    in_kind_fee_ppm: FeePpm = 0
    slippage_ppm: Annotated[int, msgspec.Meta(ge=1, le=200_000)] = 20_000

    def terms(self) -> BasketTerms:
        """The market's terms."""
        legs = tuple(LegTerms(leg.symbol, leg.lots) for leg in self.legs)
        return BasketTerms(
            self.symbol, self.name, legs, self.fee_ppm, self.in_kind_fee_ppm, self.slippage_ppm
        )


class ParticipantCreate(Request):
    """An account to authorise as a participant of the fund."""

    account_id: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


class FlowCreate(Request):
    """Create or redeem ``units``: in kind (the strip moves at the marks) or in cash (the fund trades it)."""

    action: Literal["create", "redeem"]
    method: Literal["in_kind", "cash"]
    units: Annotated[int, msgspec.Meta(ge=1, le=10**9)]

    def request(self, key: str | None) -> FlowRequest:
        """The market's request."""
        return FlowRequest(self.action, self.method, self.units, key)


class LegOut(msgspec.Struct):
    symbol: str
    lots: int


class BasketOut(msgspec.Struct):
    """A fund: its unit's symbol, account, strip, fees, units outstanding and participants."""

    symbol: str
    name: str
    fund_account_id: str
    legs: list[LegOut]
    fee_ppm: int
    in_kind_fee_ppm: int
    slippage_ppm: int
    status: str
    units: int
    participants: list[str]
    expiry: datetime
    created_at: datetime

    @classmethod
    def of(cls, info: BasketInfo) -> BasketOut:
        return cls(
            info.symbol,
            info.name,
            info.fund_id,
            [LegOut(leg.symbol, leg.lots) for leg in info.legs],
            info.fee_ppm,
            info.in_kind_fee_ppm,
            info.slippage_ppm,
            info.status,
            info.units,
            list(info.participants),
            info.expiry,
            info.created_at,
        )


class MarkOut(msgspec.Struct):
    symbol: str
    mark: str
    """USD per GPU-hour, on the leg's tick."""


class NavOut(msgspec.Struct):
    """NAV per unit = equity / units (rounded down), one unit's strip notional at the marks, and the
    unit's initial margin (the clearing house's scan of its look-through strip)."""

    symbol: str
    at: datetime
    nav: str
    equity: str
    units: int
    strip_value: str
    unit_margin: str
    marks: list[MarkOut]

    @classmethod
    def of(cls, info: NavInfo) -> NavOut:
        return cls(
            info.symbol,
            info.at,
            micros_to_dollars(info.nav_micros),
            micros_to_dollars(info.equity_micros),
            info.units,
            micros_to_dollars(info.strip_micros),
            micros_to_dollars(info.margin_micros),
            [MarkOut(s, micros_to_dollars(m)) for s, m in info.marks],
        )


class FlowOut(msgspec.Struct):
    """A creation or redemption: the NAV used and the cash paid (creation) or received (redemption),
    with the fee and the strip trades' costs beyond the marks in it."""

    id: int
    symbol: str
    account_id: str
    action: str
    method: str
    units: int
    nav: str
    cash: str
    fee: str
    costs: str
    idempotency_key: str | None
    created_at: datetime

    @classmethod
    def of(cls, info: FlowInfo) -> FlowOut:
        return cls(
            info.id,
            info.symbol,
            info.account_id,
            info.action,
            info.method,
            info.units,
            micros_to_dollars(info.nav_micros),
            micros_to_dollars(info.cash_micros),
            micros_to_dollars(info.fee_micros),
            micros_to_dollars(info.costs_micros),
            info.idempotency_key,
            info.created_at,
        )


class PaymentOut(msgspec.Struct):
    account_id: str
    amount: str


class WindUpOut(msgspec.Struct):
    """A fund paid out at its final NAV."""

    symbol: str
    nav: str
    units: int
    payments: list[PaymentOut]
    residue: str

    @classmethod
    def of(cls, info: WindUpInfo) -> WindUpOut:
        return cls(
            info.symbol,
            micros_to_dollars(info.nav_micros),
            info.units,
            [PaymentOut(a, micros_to_dollars(m)) for a, m in info.payments],
            micros_to_dollars(info.residue_micros),
        )
