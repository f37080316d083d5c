"""Roles and API keys.

Keys are 256-bit random tokens (``flx_`` + URL-safe base64). Only their SHA-256 digest is stored: a
slow password hash buys nothing for tokens of that entropy, and a fast digest keeps authentication off
the hot path. The first 12 characters (the prefix) are stored in clear so a human can name a key to
revoke it without ever seeing it again.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable

from market.errors import InvalidRequestError

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
