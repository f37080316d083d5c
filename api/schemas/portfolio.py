"""An account's positions, ledger entries and deliveries."""

from __future__ import annotations

from datetime import datetime

import msgspec

from api.schemas.common import price_or_none
from market.records import DeliveryDayInfo, DeliveryInfo, EntryInfo, PositionInfo, Statement, StatementLine
from market.units import micros_to_dollars


class PositionOut(msgspec.Struct):
    """A net position (long positive), its signed cost, the margin held for it and the variation margin
    received to date (paid: negative; cash forwards and options are settled to their marks), in USD; its state
    (``open`` or ``closed``), the average price of the open lots and the mark (USD per GPU-hour), and
    realised P&L (net of fees; a settlement's or an expired option's payoff included) and unrealised
    P&L, and the fees paid (USD)."""

    symbol: str
    quantity: int
    cost: str
    margin: str
    variation: str
    state: str
    average_price: str | None
    mark: str | None
    realised_pnl: str
    unrealised_pnl: str
    fees: str

    @classmethod
    def of(cls, position: PositionInfo) -> PositionOut:
        pnl = position.pnl
        return cls(
            symbol=position.symbol,
            quantity=position.qty,
            cost=micros_to_dollars(position.cost_micros),
            margin=micros_to_dollars(position.margin_micros),
            variation=micros_to_dollars(position.variation_micros),
            state=position.state,
            average_price=None if pnl is None else price_or_none(pnl.average_price_micros),
            mark=None if pnl is None else price_or_none(pnl.mark_micros),
            realised_pnl=micros_to_dollars(0 if pnl is None else pnl.realised_micros),
            unrealised_pnl=micros_to_dollars(0 if pnl is None else pnl.unrealised_micros),
            fees=micros_to_dollars(0 if pnl is None else pnl.fees_micros),
        )


class EntryOut(msgspec.Struct):
    """One ledger entry of yours: ``amount`` (USD) into ``bucket`` (negative: out of it)."""

    id: int
    transfer_id: int
    kind: str
    bucket: str
    amount: str
    ref: str | None
    created_at: datetime

    @classmethod
    def of(cls, entry: EntryInfo) -> EntryOut:
        return cls(
            id=entry.id,
            transfer_id=entry.transfer_id,
            kind=entry.kind,
            bucket=entry.bucket,
            amount=micros_to_dollars(entry.amount_micros),
            ref=entry.ref,
            created_at=entry.created_at,
        )


class DeliveryDayOut(msgspec.Struct):
    """One UTC day of a delivery: ``pending``, ``confirmed``, ``accepted``, ``disputed``, ``failed`` or
    ``upheld``; its escrow (USD) and the provider's collateral it paid the buyer."""

    day: str
    escrow: str
    status: str
    reason: str | None
    collateral_charged: str
    decided_at: datetime | None

    @classmethod
    def of(cls, day: DeliveryDayInfo) -> DeliveryDayOut:
        return cls(
            day=day.day.date().isoformat(),
            escrow=micros_to_dollars(day.escrow_micros),
            status=day.status,
            reason=day.reason,
            collateral_charged=micros_to_dollars(day.collateral_micros),
            decided_at=day.decided_at,
        )


class DeliveryOut(msgspec.Struct):
    """GPUs of a provider's listing allocated to a buyer for a window: where, how to reach them, the
    escrow owed for them and each day's fate."""

    id: int
    symbol: str
    buyer_id: str
    provider_id: str
    listing_id: int
    gpus: int
    window_start: datetime
    window_end: datetime
    created_at: datetime
    region: str | None
    escrow: str
    access_handle: str | None
    endpoint: str | None
    handle_at: datetime | None
    alert: str | None
    days: list[DeliveryDayOut]

    @classmethod
    def of(cls, delivery: DeliveryInfo) -> DeliveryOut:
        return cls(
            id=delivery.id,
            symbol=delivery.symbol,
            buyer_id=delivery.buyer_id,
            provider_id=delivery.provider_id,
            listing_id=delivery.listing_id,
            gpus=delivery.gpus,
            window_start=delivery.window_start,
            window_end=delivery.window_end,
            created_at=delivery.created_at,
            region=delivery.region,
            escrow=micros_to_dollars(delivery.escrow_micros),
            access_handle=delivery.access_handle,
            endpoint=delivery.endpoint,
            handle_at=delivery.handle_at,
            alert=delivery.alert,
            days=[DeliveryDayOut.of(d) for d in delivery.days],
        )


class StatementLineOut(msgspec.Struct):
    """One business event: the transfer id, when, what, the net change of your cash and the cash
    after it (USD), the instrument it concerns and the lots you traded in it (signed, bought
    positive), where there are."""

    id: int
    at: datetime
    kind: str
    ref: str | None
    amount: str
    balance: str
    symbol: str | None
    quantity: int | None

    @classmethod
    def of(cls, line: StatementLine) -> StatementLineOut:
        return cls(
            line.id,
            line.at,
            line.kind,
            line.ref,
            micros_to_dollars(line.amount_micros),
            micros_to_dollars(line.balance_micros),
            line.symbol,
            line.qty,
        )


class StatementOut(msgspec.Struct):
    """Your events over ``[start, end)`` with the cash before and after (USD); ``more``: ask again
    from the last line's ``at`` for the rest."""

    start: datetime | None
    end: datetime | None
    opening_balance: str
    closing_balance: str
    lines: list[StatementLineOut]
    more: bool

    @classmethod
    def of(cls, statement: Statement) -> StatementOut:
        return cls(
            statement.start,
            statement.end,
            micros_to_dollars(statement.opening_micros),
            micros_to_dollars(statement.closing_micros),
            [StatementLineOut.of(line) for line in statement.lines],
            statement.more,
        )
