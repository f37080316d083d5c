"""Accounts, API keys and the cash ledger, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from market.errors import (
    AlreadyExistsError,
    IdempotencyKeyReusedError,
    InsufficientFundsError,
    InvalidAmountError,
    InvalidRequestError,
    NotFoundError,
    UnauthorizedError,
)
from market.service import Exchange


def test_api_key_is_shown_once_stored_hashed_and_revocable(exchange: Exchange, db_engine) -> None:
    created = exchange.create_account("alice", ["trader", "provider"])
    assert created.account.roles == ("provider", "trader")
    assert exchange.authenticate(created.api_key) == created.account
    with db_engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT prefix, key_hash FROM api_keys").one()
    assert created.api_key not in stored  # only the prefix and the digest are kept
    assert created.api_key.startswith(stored[0])
    second = exchange.issue_api_key(created.account.id).api_key
    exchange.revoke_api_key(created.api_key[:12])
    with pytest.raises(UnauthorizedError):
        exchange.authenticate(created.api_key)
    assert exchange.authenticate(second).id == created.account.id
    with pytest.raises(NotFoundError):
        exchange.revoke_api_key(created.api_key)


def test_keys_carry_scopes_and_an_account_revokes_only_its_own(exchange: Exchange) -> None:
    alice = exchange.create_account("alice", ["trader"]).account.id
    bob = exchange.create_account("bob", ["trader"]).account.id
    reader = exchange.issue_api_key(alice, ["read"])
    assert reader.info.scopes == ("read",)
    holder = exchange.key_holder(reader.api_key)
    assert (holder.account.id, holder.scopes, holder.prefix) == (alice, ("read",), reader.info.prefix)
    assert exchange.key_holder(exchange.issue_api_key(alice, "transfer,read").api_key).scopes == (
        "read",
        "transfer",
    )
    listed = exchange.api_keys(alice)
    assert [k.scopes for k in listed] == [("read", "trade", "transfer"), ("read",), ("read", "transfer")]
    assert {k.account_id for k in exchange.api_keys()} == {alice, bob}
    with pytest.raises(NotFoundError):
        exchange.revoke_api_key(reader.info.prefix, account_id=bob)  # not bob's key
    exchange.revoke_api_key(reader.info.prefix, account_id=alice)
    assert exchange.api_keys(alice)[1].revoked_at is not None
    for bad in ([], ["admin"], ["read", 3], "read,,trade"):
        with pytest.raises(InvalidRequestError):
            exchange.issue_api_key(alice, bad)


def test_account_validation(exchange: Exchange) -> None:
    exchange.create_account("bob", "trader")
    with pytest.raises(AlreadyExistsError):
        exchange.create_account("bob", "trader")
    with pytest.raises(InvalidRequestError) as bad:
        exchange.create_account("carol", ["superuser"])
    assert bad.value.field == "roles"
    with pytest.raises(UnauthorizedError):
        exchange.authenticate("flx_not-a-key")


def test_deposits_are_idempotent_and_withdrawals_cannot_overdraw(exchange: Exchange) -> None:
    account = exchange.create_account("dave", ["trader"]).account.id
    first = exchange.deposit(account, 5_000_000, "d-1")
    again = exchange.deposit(account, 5_000_000, "d-1")
    assert again.id == first.id
    assert exchange.balances(account).available == 5_000_000
    with pytest.raises(IdempotencyKeyReusedError):
        exchange.deposit(account, 6_000_000, "d-1")
    with pytest.raises(IdempotencyKeyReusedError):
        exchange.withdraw(account, 5_000_000, "d-1")  # same key, different request
    with pytest.raises(InsufficientFundsError):
        exchange.withdraw(account, 5_000_001, "w-1")
    exchange.withdraw(account, 2_000_000, "w-2")
    balances = exchange.balances(account)
    assert (balances.cash, balances.available, balances.reserved) == (3_000_000, 3_000_000, 0)
    with pytest.raises(InvalidAmountError):
        exchange.deposit(account, 0, "d-2")
    with pytest.raises(InvalidAmountError):
        exchange.deposit(account, True, "d-3")  # a boolean is not an amount
    entries = exchange.ledger(account)
    assert [e.amount_micros for e in entries] == [5_000_000, -2_000_000]
    assert exchange.check() == []
