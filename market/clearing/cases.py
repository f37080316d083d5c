"""The clearing house's use cases, as functions of the :class:`market.house.House` (the facade
:class:`market.service.Exchange` exposes them): the re-margining pass, calls, margins, defaults, the
fund and risk reports."""

from __future__ import annotations

from market.accounts import account
from market.clearing import moves, outbox, reports
from market.clearing import remargin as passes
from market.clearing.records import (
    DefaultInfo,
    FundInfo,
    InstructionInfo,
    MarginCallInfo,
    MarginInfo,
    RiskReport,
)
from market.clearing.remargin import RemarginReport
from market.errors import ClearingElsewhereError, InvalidAmountError
from market.house import House, page_limit
from market.ledger import CAPITAL, EXTERNAL, SYSTEM, Ledger
from market.store import write_transaction
from market.units import MAX_MICROS, from_epoch_us


def remargin(house: House) -> RemarginReport:
    """One re-margining pass (:mod:`market.clearing.remargin`) in one transaction. On a shard, only
    the elected one runs it (``clearing_elsewhere`` otherwise), liquidating through instructions to
    the shards owning the books (:mod:`market.clearing.outbox`)."""
    sharded = house.products is not None
    if sharded and not house.elect():
        raise ClearingElsewhereError("another shard holds the clearing lock and runs the clearing pass")
    with house.transaction() as uow:
        return passes.run(uow, house.books(), routed=sharded)


def drain_clearing(house: House) -> list[outbox.Applied]:
    """Execute the clearing instructions pending for the books this house holds, each in a
    transaction of its own (applied exactly once: see :func:`market.clearing.outbox.apply`)."""
    with house.read() as connection:
        ids = outbox.pending(connection, house.products)
    applied = []
    for instruction_id in ids:
        with house.transaction() as uow:
            done = outbox.apply(uow, house.books(), instruction_id, house.products)
        if done is not None:
            applied.append(done)
    return applied


def clearing_instructions(house: House, pending: bool = False, limit: int = 100) -> list[InstructionInfo]:
    """The elected pass's liquidation instructions to shards, newest first (``pending``: only those no
    shard has applied yet)."""
    with house.read() as connection:
        return outbox.listing(connection, pending, page_limit(limit))


def moved_products(house: House) -> tuple[str, ...]:
    """Products whose index moved by :data:`market.clearing.moves.LARGE_MOVE_BPS` or more since the
    last pass."""
    with house.read() as connection:
        return moves.moved(connection)


def remargin_if_moved(house: House) -> RemarginReport | None:
    """A pass at once when a product's index moved by the large-move threshold since the last pass
    (:mod:`market.clearing.moves`); None when none did, and on a shard that is not the elected
    clearing process (the elected one's lifecycle runs the pass, brought forward by the fixing)."""
    if house.products is not None and not house.elect():
        return None
    return remargin(house) if moved_products(house) else None


def margin_calls(
    house: House, account_id: str | None = None, status: str | None = None
) -> list[MarginCallInfo]:
    """Margin calls, newest first: one account's, or every account's (``None``)."""
    with house.read() as connection:
        return reports.calls(connection, account_id, status)


def margins(house: House, account_id: str) -> list[MarginInfo]:
    """The account's portfolio margin per product at the last pass, with its parts."""
    with house.read() as connection:
        return reports.margins(connection, account_id)


def defaults(house: House) -> list[DefaultInfo]:
    """Every default and its waterfall, newest first."""
    with house.read() as connection:
        return reports.defaults(connection)


def default_fund(house: House) -> FundInfo:
    """The default fund's contributions and the exchange's capital slice."""
    with house.read() as connection:
        return reports.fund(connection)


def fund_capital(house: House, amount_micros: int) -> FundInfo:
    """Commit ``amount_micros`` of the exchange's own capital to the default waterfall (from outside)."""
    if type(amount_micros) is not int or not 0 < amount_micros <= MAX_MICROS:
        raise InvalidAmountError("amount must be a positive number of micro-dollars", field="amount")
    with write_transaction(house.db) as connection:
        ledger = Ledger(connection, house.now_us())
        ledger.move((SYSTEM, EXTERNAL), (SYSTEM, CAPITAL), amount_micros)
        ledger.post("capital")
        ledger.flush()
    return default_fund(house)


def risk(house: House, account_id: str) -> RiskReport:
    """The account's risk report: Greeks, VaR/ES and stress per product, and its margin breakdown."""
    account(house, account_id)
    now = house.now_us()
    with house.read() as connection:
        products = reports.risk(connection, account_id, now)
        margin_parts = reports.margins(connection, account_id)
    return RiskReport(account_id, tuple(products), tuple(margin_parts), from_epoch_us(now))
