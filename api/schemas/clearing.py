"""Margin calls, margin breakdowns, risk reports, defaults and the default fund on the wire (USD
amounts as decimal strings; risk figures, computed in floating point by the pricing core, as numbers)."""

from __future__ import annotations

from datetime import datetime

import msgspec

from market.clearing.records import (
    DefaultInfo,
    FundInfo,
    InstructionInfo,
    MarginCallInfo,
    MarginInfo,
    ProductRisk,
    RiskReport,
)
from market.clearing.remargin import RemarginReport
from market.units import micros_to_dollars


class MarginCallOut(msgspec.Struct):
    """A margin call: ``amount`` more margin is due by ``deadline``; until then only reduce-only orders
    are accepted. ``status``: ``open``, ``met``, ``liquidating`` or ``closed``."""

    id: int
    status: str
    required: str
    held: str
    amount: str
    created_at: datetime
    deadline: datetime
    closed_at: datetime | None

    @classmethod
    def of(cls, c: MarginCallInfo) -> MarginCallOut:
        return cls(
            id=c.id,
            status=c.status,
            required=micros_to_dollars(c.required_micros),
            held=micros_to_dollars(c.held_micros),
            amount=micros_to_dollars(c.amount_micros),
            created_at=c.created_at,
            deadline=c.deadline,
            closed_at=c.closed_at,
        )


class MarginOut(msgspec.Struct):
    """Portfolio margin in one product at the last re-margining pass:
    ``required = max(scan + spread - option_value, floor)``; ``per_instrument`` is what the
    per-instrument rule would hold for the same positions."""

    product: str
    required: str
    scan: str
    spread: str
    option_value: str
    floor: str
    per_instrument: str
    vol: float
    as_of: datetime

    @classmethod
    def of(cls, m: MarginInfo) -> MarginOut:
        return cls(
            product=m.product,
            required=micros_to_dollars(m.required_micros),
            scan=micros_to_dollars(m.scan_micros),
            spread=micros_to_dollars(m.spread_micros),
            option_value=micros_to_dollars(m.option_value_micros),
            floor=micros_to_dollars(m.floor_micros),
            per_instrument=micros_to_dollars(m.per_instrument_micros),
            vol=m.vol,
            as_of=m.as_of,
        )


class RiskOut(msgspec.Struct):
    """Your risk report: per product (USD; floating point, from the pricing core) Greeks with delta in
    forward-equivalent GPU-hours, one-day VaR 99% and ES 97.5% by historical simulation (null below 20
    days of index history) and model Monte Carlo, and the named stress scenarios' profit (negative: a
    loss); and your margin breakdown."""

    products: list[ProductRisk]
    margin: list[MarginOut]
    as_of: datetime

    @classmethod
    def of(cls, r: RiskReport) -> RiskOut:
        return cls(
            products=list(r.products),
            margin=[MarginOut.of(m) for m in r.margin],
            as_of=r.as_of,
        )


class DefaultOut(msgspec.Struct):
    """A default and its waterfall, USD per step:
    ``shortfall = contribution + capital + fund + assessment + uncovered``."""

    id: int
    account_id: str
    ref: str
    shortfall: str
    contribution: str
    capital: str
    fund: str
    assessment: str
    uncovered: str
    at: datetime

    @classmethod
    def of(cls, d: DefaultInfo) -> DefaultOut:
        return cls(
            id=d.id,
            account_id=d.account_id,
            ref=d.ref,
            shortfall=micros_to_dollars(d.shortfall_micros),
            contribution=micros_to_dollars(d.contribution_micros),
            capital=micros_to_dollars(d.capital_micros),
            fund=micros_to_dollars(d.fund_micros),
            assessment=micros_to_dollars(d.assessment_micros),
            uncovered=micros_to_dollars(d.uncovered_micros),
            at=d.at,
        )


class FundOut(msgspec.Struct):
    """The default fund: each member's contribution and the exchange's capital slice (USD)."""

    contributions: dict[str, str]
    fund: str
    capital: str

    @classmethod
    def of(cls, f: FundInfo) -> FundOut:
        return cls(
            contributions={a: micros_to_dollars(v) for a, v in f.contributions.items()},
            fund=micros_to_dollars(f.fund_micros),
            capital=micros_to_dollars(f.capital_micros),
        )


class DefaultsOut(msgspec.Struct):
    """Every default (newest first) and the state of the default fund."""

    defaults: list[DefaultOut]
    fund: FundOut


class RemarginOut(msgspec.Struct):
    """What one re-margining pass did."""

    marked: int
    accounts: int
    variation: str
    calls_opened: list[str]
    calls_met: list[str]
    liquidated_lots: int
    fund_target: str
    defaults: int

    @classmethod
    def of(cls, r: RemarginReport) -> RemarginOut:
        return cls(
            marked=r.marked,
            accounts=r.accounts,
            variation=micros_to_dollars(r.variation_micros),
            calls_opened=list(r.calls_opened),
            calls_met=list(r.calls_met),
            liquidated_lots=r.liquidated_lots,
            fund_target=micros_to_dollars(r.fund_target_micros),
            defaults=len(r.defaults),
        )


class InstructionOut(msgspec.Struct):
    """A liquidation instruction of the elected clearing pass (sharded exchange): the shard owning
    ``product``'s books cancels the account's orders there and sends the call's slices; ``applied_at``
    is null while it waits for that shard, ``outcome`` says what it did."""

    id: int
    call_id: int | None
    """The margin call a ``liquidate`` instruction executes (null for a note's)."""
    account_id: str | None
    product: str
    status: str
    """``pending`` or ``applied``."""
    created_at: datetime
    applied_at: datetime | None
    outcome: str | None
    kind: str = "liquidate"
    """``liquidate``, or pool servicing's ``note_face`` / ``note_retire`` of note ``symbol``."""
    symbol: str | None = None

    @classmethod
    def of(cls, i: InstructionInfo) -> InstructionOut:
        status = "pending" if i.applied_at is None else "applied"
        return cls(
            i.id,
            i.call_id,
            i.account_id,
            i.product,
            status,
            i.created_at,
            i.applied_at,
            i.outcome,
            i.kind,
            i.symbol,
        )
