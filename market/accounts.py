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
from market.records import AccountInfo, ApiKeyInfo, CreatedAccount, IssuedKey, KeyHolder
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
READ, TRADE, TRANSFER = "read", "trade", "transfer"
SCOPES = (READ, TRADE, TRANSFER)
"""What a key may do: ``read`` (look), ``trade`` (orders, listings, any other change) and ``transfer``
(move cash in or out). A key's scopes narrow its account's roles; they never widen them."""


def parse_roles(roles: Iterable[str] | str) -> tuple[str, ...]:
    """Validate roles and return them in canonical order; at least one is required."""
    items = roles.split(",") if isinstance(roles, str) else list(roles)
    cleaned = {r.strip() for r in items if r.strip()}
    unknown = cleaned - set(ROLES)
    if unknown or not cleaned:
        raise InvalidRequestError(f"roles must be a non-empty subset of {', '.join(ROLES)}", field="roles")
    return tuple(r for r in ROLES if r in cleaned)


def parse_scopes(scopes: Iterable[str] | str) -> tuple[str, ...]:
    """Validate key scopes and return them in canonical order; at least one is required."""
    items = scopes.split(",") if isinstance(scopes, str) else list(scopes)
    if not items or any(not isinstance(s, str) or s.strip() not in SCOPES for s in items):
        raise InvalidRequestError(f"scopes must be a non-empty subset of {', '.join(SCOPES)}", field="scopes")
    cleaned = {s.strip() for s in items}
    return tuple(s for s in SCOPES if s in cleaned)


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
    """Create an account with ``roles`` and its first API key (every scope; returned once, hashed)."""
    if not isinstance(name, str) or not 0 < len(name.strip()) <= 200:
        raise InvalidRequestError("name must be 1-200 characters", field="name")
    role_list = parse_roles(roles)
    account_id = new_account_id()
    now = house.now_us()
    try:
        with house.db.begin() as connection:
            connection.execute(
                _accounts.insert(),
                {"id": account_id, "name": name.strip(), "roles": ",".join(role_list), "created_us": now},
            )
            connection.execute(_balances.insert(), bucket_rows(account_id))
            insert_ignore(connection, _balances, bucket_rows(SYSTEM))  # the counterparties of its cash
            issued = _insert_key(connection, account_id, SCOPES, now)
    except sa.exc.IntegrityError:
        raise AlreadyExistsError(f"an account named {name!r} exists", field="name") from None
    return CreatedAccount(
        AccountInfo(account_id, name.strip(), role_list, from_epoch_us(now)), issued.api_key
    )


def issue_api_key(house: House, account_id: str, scopes: Sequence[str] | str = SCOPES) -> IssuedKey:
    """A new API key for an existing account with ``scopes`` (the key is returned once)."""
    chosen = parse_scopes(scopes)
    account(house, account_id)
    with house.db.begin() as connection:
        return _insert_key(connection, account_id, chosen, house.now_us())


def _insert_key(connection: sa.Connection, account_id: str, scopes: tuple[str, ...], now: int) -> IssuedKey:
    key, prefix, digest = new_api_key()
    connection.execute(
        _keys.insert(),
        {
            "account_id": account_id,
            "prefix": prefix,
            "key_hash": digest,
            "scopes": ",".join(scopes),
            "created_us": now,
        },
    )
    return IssuedKey(ApiKeyInfo(prefix, account_id, scopes, from_epoch_us(now), None), key)


def api_keys(house: House, account_id: str | None = None) -> list[ApiKeyInfo]:
    """The API keys of an account (every account's when None), oldest first, revoked ones included."""
    query = sa.select(_keys).order_by(_keys.c.created_us, _keys.c.id)
    if account_id is not None:
        account(house, account_id)
        query = query.where(_keys.c.account_id == account_id)
    with house.read() as connection:
        return [
            ApiKeyInfo(
                r.prefix,
                r.account_id,
                tuple(r.scopes.split(",")),
                from_epoch_us(r.created_us),
                None if r.revoked_us is None else from_epoch_us(r.revoked_us),
            )
            for r in connection.execute(query)
        ]


def revoke_api_key(house: House, key_or_prefix: str, account_id: str | None = None) -> None:
    """Revoke a key, named by the key itself or by its 12-character prefix; with ``account_id`` only
    that account's keys (another account's key is ``not_found``)."""
    prefix = key_or_prefix[:KEY_PREFIX_LENGTH] if isinstance(key_or_prefix, str) else ""
    query = _keys.update().where(_keys.c.prefix == prefix, _keys.c.revoked_us.is_(None))
    if account_id is not None:
        query = query.where(_keys.c.account_id == account_id)
    with house.db.begin() as connection:
        done = connection.execute(query.values(revoked_us=house.now_us()))
    if done.rowcount != 1:
        raise NotFoundError(f"no active API key with prefix {prefix!r}", field="key")


def key_holder(house: House, api_key: str) -> KeyHolder:
    """The account behind an API key and the key's scopes; ``unauthorized`` if unknown or revoked."""
    if not isinstance(api_key, str) or not api_key:
        raise UnauthorizedError("an API key is required")
    with house.read() as connection:
        row = connection.execute(
            sa.select(_accounts, _keys.c.scopes, _keys.c.prefix)
            .join(_keys, _keys.c.account_id == _accounts.c.id)
            .where(_keys.c.key_hash == hash_key(api_key), _keys.c.revoked_us.is_(None))
        ).one_or_none()
    if row is None:
        raise UnauthorizedError("unknown or revoked API key")
    return KeyHolder(_account(row), tuple(row.scopes.split(",")), row.prefix)


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


def authenticate(house: House, api_key: str) -> AccountInfo:
    """The account an API key belongs to; :class:`UnauthorizedError` if unknown or revoked."""
    return key_holder(house, api_key).account
