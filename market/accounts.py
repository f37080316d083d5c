"""Accounts, roles and API keys: the account use cases and the key helpers they use.

Keys are 256-bit random tokens (``flx_`` + URL-safe base64). Only their SHA-256 digest is stored: a
slow password hash buys nothing for tokens of that entropy, and a fast digest keeps authentication off
the hot path. The first 12 characters (the prefix) are stored in clear so a human can name a key to
revoke it without ever seeing it again.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import sqlalchemy as sa

from market.errors import AlreadyExistsError, InvalidRequestError, NotFoundError, UnauthorizedError
from market.ledger import SYSTEM, bucket_rows
from market.records import AccountInfo, CreatedAccount
from market.store import insert_ignore
from market.tables import Account, ApiKey, Balance
from market.units import from_epoch_us

if TYPE_CHECKING:
    from market.house import House

_accounts = Account.__table__
_keys = ApiKey.__table__
_balances = Balance.__table__

ADMIN, PROVIDER, TRADER = "admin", "provider", "trader"
ROLES = (ADMIN, PROVIDER, TRADER)
KEY_PREFIX_LENGTH = 12


def parse_roles(roles: Iterable[str] | str) -> tuple[str, ...]:
    """Validate roles and return them in canonical order; at least one is required."""
    items = roles.split(",") if isinstance(roles, str) else list(roles)
    cleaned = {r.strip() for r in items if r.strip()}
    unknown = cleaned - set(ROLES)
    if unknown or not cleaned:
        raise InvalidRequestError(f"roles must be a non-empty subset of {', '.join(ROLES)}", field="roles")
    return tuple(r for r in ROLES if r in cleaned)


def new_api_key() -> tuple[str, str, str]:
    """A fresh key: ``(key, prefix, digest)``; show ``key`` once, store ``prefix`` and ``digest``."""
    key = "flx_" + secrets.token_urlsafe(32)
    return key, key[:KEY_PREFIX_LENGTH], hash_key(key)


def hash_key(key: str) -> str:
    """The stored digest of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_account_id() -> str:
    """A random account id (``acc_`` + 16 hex digits)."""
    return "acc_" + secrets.token_hex(8)


def create_account(house: House, name: str, roles: Sequence[str] | str) -> CreatedAccount:
    """Create an account with ``roles`` and its first API key (returned once, stored hashed)."""
    if not isinstance(name, str) or not 0 < len(name.strip()) <= 200:
        raise InvalidRequestError("name must be 1-200 characters", field="name")
    role_list = parse_roles(roles)
    account_id = new_account_id()
    now = house.now_us()
    key, prefix, digest = new_api_key()
    try:
        with house.db.begin() as connection:
            connection.execute(
                _accounts.insert(),
                {"id": account_id, "name": name.strip(), "roles": ",".join(role_list), "created_us": now},
            )
            connection.execute(_balances.insert(), bucket_rows(account_id))
            insert_ignore(connection, _balances, bucket_rows(SYSTEM))  # the counterparties of its cash
            connection.execute(
                _keys.insert(),
                {"account_id": account_id, "prefix": prefix, "key_hash": digest, "created_us": now},
            )
    except sa.exc.IntegrityError:
        raise AlreadyExistsError(f"an account named {name!r} exists", field="name") from None
    return CreatedAccount(AccountInfo(account_id, name.strip(), role_list, from_epoch_us(now)), key)


def issue_api_key(house: House, account_id: str) -> str:
    """A new API key for an existing account (returned once)."""
    account(house, account_id)
    key, prefix, digest = new_api_key()
    with house.db.begin() as connection:
        connection.execute(
            _keys.insert(),
            {"account_id": account_id, "prefix": prefix, "key_hash": digest, "created_us": house.now_us()},
        )
    return key


def revoke_api_key(house: House, key_or_prefix: str) -> None:
    """Revoke a key, named by the key itself or by its 12-character prefix."""
    prefix = key_or_prefix[:KEY_PREFIX_LENGTH] if isinstance(key_or_prefix, str) else ""
    with house.db.begin() as connection:
        done = connection.execute(
            _keys.update()
            .where(_keys.c.prefix == prefix, _keys.c.revoked_us.is_(None))
            .values(revoked_us=house.now_us())
        )
    if done.rowcount != 1:
        raise NotFoundError(f"no active API key with prefix {prefix!r}", field="key")


def authenticate(house: House, api_key: str) -> AccountInfo:
    """The account an API key belongs to; :class:`UnauthorizedError` if unknown or revoked."""
    if not isinstance(api_key, str) or not api_key:
        raise UnauthorizedError("an API key is required")
    with house.read() as connection:
        row = connection.execute(
            sa.select(_accounts)
            .join(_keys, _keys.c.account_id == _accounts.c.id)
            .where(_keys.c.key_hash == hash_key(api_key), _keys.c.revoked_us.is_(None))
        ).one_or_none()
    if row is None:
        raise UnauthorizedError("unknown or revoked API key")
    return _account(row)


def account(house: House, account_id: str) -> AccountInfo:
    """One account."""
    with house.read() as connection:
        row = connection.execute(sa.select(_accounts).where(_accounts.c.id == account_id)).one_or_none()
    if row is None:
        raise NotFoundError(f"no account {account_id!r}", field="account_id")
    return _account(row)


def all_accounts(house: House) -> list[AccountInfo]:
    """Every account, oldest first."""
    with house.read() as connection:
        rows = connection.execute(sa.select(_accounts).order_by(_accounts.c.created_us, _accounts.c.id))
        return [_account(r) for r in rows]


def roles_of(connection: sa.Connection, account_id: str) -> tuple[str, ...]:
    """An account's roles, read in the caller's transaction."""
    roles = connection.execute(sa.select(_accounts.c.roles).where(_accounts.c.id == account_id)).scalar()
    if roles is None:
        raise NotFoundError(f"no account {account_id!r}", field="account_id")
    return tuple(roles.split(","))


def _account(row: sa.Row) -> AccountInfo:
    return AccountInfo(row.id, row.name, tuple(row.roles.split(",")), from_epoch_us(row.created_us))
