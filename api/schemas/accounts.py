"""Accounts, keys, balances and cash transfers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from api.schemas.clearing import MarginCallOut
from api.schemas.common import Money, Name, Request
from market.records import AccountInfo, ApiKeyInfo, Balances, CreatedAccount, IssuedKey, TransferInfo
from market.units import micros_to_dollars

Role = Literal["admin", "provider", "trader"]
Scope = Literal["read", "trade", "transfer"]


class AccountCreate(Request):
    """A new account: a unique name and at least one role."""

    name: Name
    roles: Annotated[list[Role], msgspec.Meta(min_length=1, max_length=3)]


class KeyCreate(Request):
    """A new API key and what it may do (default: every scope the caller's own key has)."""

    scopes: Annotated[list[Scope], msgspec.Meta(min_length=1, max_length=3)] | None = None


class ApiKeyOut(msgspec.Struct):
    """An API key, named by its prefix (the key itself is never shown again)."""

    prefix: str
    account_id: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, info: ApiKeyInfo) -> ApiKeyOut:
        return cls(
            prefix=info.prefix,
            account_id=info.account_id,
            scopes=list(info.scopes),
            created_at=info.created_at,
            revoked_at=info.revoked_at,
        )


class IssuedKeyOut(msgspec.Struct):
    """A new API key: ``api_key`` is shown this once and cannot be recovered."""

    key: ApiKeyOut
    api_key: str

    @classmethod
    def of(cls, issued: IssuedKey) -> IssuedKeyOut:
        return cls(key=ApiKeyOut.of(issued.info), api_key=issued.api_key)


class DepositCreate(Request):
    """Cash paid into an account (USD, up to six decimals)."""

    amount: Money


class AccountOut(msgspec.Struct):
    """An account and its roles."""

    id: str
    name: str
    roles: list[str]
    created_at: datetime

    @classmethod
    def of(cls, info: AccountInfo) -> AccountOut:
        return cls(id=info.id, name=info.name, roles=list(info.roles), created_at=info.created_at)


class CreatedAccountOut(msgspec.Struct):
    """A new account and its API key: the key is shown this once and cannot be recovered."""

    account: AccountOut
    api_key: str

    @classmethod
    def of(cls, created: CreatedAccount) -> CreatedAccountOut:
        return cls(account=AccountOut.of(created.account), api_key=created.api_key)


class BalancesOut(msgspec.Struct):
    """USD amounts: ``cash = available + reserved + margin + collateral`` (a provider's performance
    collateral, posted with its listings)."""

    cash: str
    reserved: str
    margin: str
    available: str
    collateral: str

    @classmethod
    def of(cls, balances: Balances) -> BalancesOut:
        return cls(
            cash=micros_to_dollars(balances.cash),
            reserved=micros_to_dollars(balances.reserved),
            margin=micros_to_dollars(balances.margin),
            available=micros_to_dollars(balances.available),
            collateral=micros_to_dollars(balances.collateral),
        )


class MeOut(msgspec.Struct):
    """The caller: account, roles, balances, how many orders are open and any margin call in force
    (open or liquidating)."""

    account: AccountOut
    balances: BalancesOut
    open_orders: int
    margin_calls: list[MarginCallOut]


class TransferOut(msgspec.Struct):
    """A stored cash movement."""

    id: int
    kind: str
    account_id: str | None
    amount: str
    idempotency_key: str | None
    created_at: datetime

    @classmethod
    def of(cls, info: TransferInfo) -> TransferOut:
        return cls(
            id=info.id,
            kind=info.kind,
            account_id=info.account_id,
            amount=micros_to_dollars(info.amount_micros),
            idempotency_key=info.idempotency_key,
            created_at=info.created_at,
        )
