"""Cash: balances, deposits and withdrawals from outside, and an account's ledger entries.

Deposits and withdrawals are idempotent by the caller's key: the same key with the same amount
answers with the first transfer; the same key for a different request is refused.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import sqlalchemy as sa

from market.accounts import account
from market.errors import IdempotencyKeyReusedError, InvalidAmountError, InvalidRequestError, NotFoundError
from market.house import page_limit
from market.ledger import AVAILABLE, COLLATERAL, EXTERNAL, MARGIN, RESERVED, SYSTEM, Ledger
from market.records import Balances, EntryInfo, TransferInfo
from market.spans import ALL, Span, keyset
from market.store import write_transaction
from market.tables import Balance, Entry, Transfer
from market.units import MAX_MICROS, from_epoch_us

if TYPE_CHECKING:
    from market.house import House

_balances = Balance.__table__
_transfers = Transfer.__table__
_entries = Entry.__table__


def balances(house: House, account_id: str) -> Balances:
    """Cash, reserved, margin, available and collateral balances of an account, in micro-dollars."""
    with house.read() as connection:
        rows = dict(
            connection.execute(
                sa.select(_balances.c.bucket, _balances.c.amount).where(_balances.c.owner == account_id)
            ).all()
        )
    if not rows:
        raise NotFoundError(f"no account {account_id!r}", field="account_id")
    available, reserved, margin_ = rows[AVAILABLE], rows[RESERVED], rows[MARGIN]
    collateral = rows.get(COLLATERAL, 0)
    return Balances(
        cash=available + reserved + margin_ + collateral,
        reserved=reserved,
        margin=margin_,
        available=available,
        collateral=collateral,
    )


def deposit(house: House, account_id: str, amount_micros: int, idempotency_key: str) -> TransferInfo:
    """Credit cash from outside. The same key with the same amount returns the first deposit."""
    return _external(house, account_id, amount_micros, idempotency_key, "deposit")


def withdraw(house: House, account_id: str, amount_micros: int, idempotency_key: str) -> TransferInfo:
    """Pay available cash out. The same key with the same amount returns the first withdrawal."""
    return _external(house, account_id, amount_micros, idempotency_key, "withdrawal")


def _external(house: House, account_id: str, amount: int, idempotency_key: str, kind: str) -> TransferInfo:
    """A ``deposit`` (credit from outside) or ``withdrawal`` (available cash paid out)."""
    if type(amount) is not int or not 0 < amount <= MAX_MICROS:
        raise InvalidAmountError("amount must be a positive number of micro-dollars", field="amount")
    if not isinstance(idempotency_key, str) or not 0 < len(idempotency_key) <= 200:
        raise InvalidRequestError(
            "an idempotency key of 1-200 characters is required", field="idempotency_key"
        )
    account(house, account_id)
    digest = hashlib.sha256(f"{kind}:{amount}".encode()).hexdigest()
    existing = _transfer_by_key(house, account_id, idempotency_key)
    if existing is None:
        try:
            with write_transaction(house.db) as connection:
                ledger = Ledger(connection, house.now_us())
                outside, inside = (SYSTEM, EXTERNAL), (account_id, AVAILABLE)
                if kind == "deposit":
                    ledger.move(outside, inside, amount)
                else:
                    ledger.move(inside, outside, amount, "the withdrawal")
                ledger.post(kind, account_id=account_id, idempotency_key=idempotency_key, request_hash=digest)
                ledger.flush()
        except sa.exc.IntegrityError:
            pass  # a concurrent request with the same key won the race: answer with its transfer
        existing = _transfer_by_key(house, account_id, idempotency_key)
    if existing is None or existing.request_hash != digest:
        raise IdempotencyKeyReusedError(
            f"idempotency key {idempotency_key!r} was used for a different request", field="idempotency_key"
        )
    return TransferInfo(
        existing.id, existing.kind, account_id, amount, idempotency_key, from_epoch_us(existing.created_us)
    )


def _transfer_by_key(house: House, account_id: str, idempotency_key: str) -> sa.Row | None:
    with house.read() as connection:
        return connection.execute(
            sa.select(_transfers).where(
                _transfers.c.account_id == account_id, _transfers.c.idempotency_key == idempotency_key
            )
        ).one_or_none()


def ledger_version(house: House, account_id: str) -> int:
    """The id of the account's newest ledger entry (0 when none): it grows with every change of the
    account's balances, and identifies them (the stream's ``balances`` channel numbers by it)."""
    with house.read() as connection:
        newest = connection.execute(
            sa.select(sa.func.max(_entries.c.id)).where(_entries.c.owner == account_id)
        )
        return newest.scalar() or 0


def entries(
    house: House, account_id: str, *, after: int | None = None, limit: int = 100, span: Span = ALL
) -> list[EntryInfo]:
    """An account's ledger entries within ``span``, oldest first unless ``span.descending``, after
    entry id ``after``."""
    mine = (
        sa.select(_entries, _transfers.c.kind, _transfers.c.ref, _transfers.c.created_us)
        .join(_transfers, _transfers.c.id == _entries.c.transfer_id)
        .where(_entries.c.owner == account_id)
    )
    anchor = None if after is None else (after,)
    query = keyset(mine, span, _transfers.c.created_us, (_entries.c.id,), anchor).limit(page_limit(limit))
    with house.read() as connection:
        return [
            EntryInfo(r.id, r.transfer_id, r.kind, r.bucket, r.amount, r.ref, from_epoch_us(r.created_us))
            for r in connection.execute(query)
        ]
