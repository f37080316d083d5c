"""The records basket-fund use cases take and return (frozen; money in micro-dollars)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

CREATE, REDEEM = "create", "redeem"
IN_KIND, CASH = "in_kind", "cash"
ACTIONS = (CREATE, REDEEM)
METHODS = (IN_KIND, CASH)


@dataclass(frozen=True)
class LegTerms:
    """Lots of one cash-settled forward per unit."""

    symbol: str
    lots: int


@dataclass(frozen=True)
class BasketTerms:
    """A new basket fund: its unit's symbol (2-12 upper-case letters or digits), its strip, and its
    fees in parts per million of NAV (cash, in kind) and the cash flows' price limit around the marks."""

    symbol: str
    name: str
    legs: tuple[LegTerms, ...]
    fee_ppm: int = 2_000
    in_kind_fee_ppm: int = 0
    slippage_ppm: int = 20_000


@dataclass(frozen=True)
class BasketInfo:
    """A basket fund as defined, with its units outstanding and its participants."""

    id: int
    symbol: str
    name: str
    fund_id: str
    legs: tuple[LegTerms, ...]
    fee_ppm: int
    in_kind_fee_ppm: int
    slippage_ppm: int
    status: str
    units: int
    participants: tuple[str, ...]
    expiry: datetime
    created_at: datetime


@dataclass(frozen=True)
class NavInfo:
    """The NAV per unit at an instant: the fund's equity at the marks over the units outstanding."""

    symbol: str
    at: datetime
    nav_micros: int
    equity_micros: int
    units: int
    strip_micros: int
    margin_micros: int
    marks: tuple[tuple[str, int], ...]
    """Each leg's mark used, micro-dollars per GPU-hour on the leg's tick."""


@dataclass(frozen=True)
class FlowRequest:
    """A creation or redemption of ``units`` units, in kind or in cash, idempotent by key."""

    action: str
    method: str
    units: int
    idempotency_key: str | None = None


@dataclass(frozen=True)
class FlowInfo:
    """A creation or redemption done: the NAV used and the cash the participant paid (creation) or
    received (redemption), with the fee and the strip trades' costs beyond the marks in it."""

    id: int
    symbol: str
    account_id: str
    action: str
    method: str
    units: int
    nav_micros: int
    cash_micros: int
    fee_micros: int
    costs_micros: int
    idempotency_key: str | None
    created_at: datetime


@dataclass(frozen=True)
class WindUpInfo:
    """A fund paid out: the final NAV, what each holder received, and the rounding residue."""

    symbol: str
    nav_micros: int
    units: int
    payments: tuple[tuple[str, int], ...]
    residue_micros: int
