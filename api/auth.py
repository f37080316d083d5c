"""Bearer API keys, key scopes and role guards.

Every private route carries a guard: :func:`authenticated` (any valid key) or :func:`requires` (one of
some roles). The guard resolves ``Authorization: Bearer <key>`` through the exchange service (which
stores only key hashes) and leaves the caller on ``request.state.principal``, where handlers receive it
as the ``principal`` dependency. Guards run before the body is parsed, so an anonymous caller learns
nothing about a route's validation rules.

Every guard also checks the key's scope for the route (:func:`route_scope`): ``read`` for GET, the
scope a route names in its ``opt`` (``transfer`` for cash movements), ``trade`` for every other change.
A key without it gets ``403 insufficient_scope``.

Resolved keys are cached for :data:`CACHE_SECONDS` so that order entry does not pay a database
round trip per request. Revocations reach the cache through the database, whichever process made them:
at most every :data:`REVOCATION_POLL_SECONDS` the authenticator reads how many keys were ever revoked
(``market.sharing.state.revoked_keys``) and drops its cache when the number moved. A revoked key
therefore stops working everywhere within that poll, and in any case within :data:`CACHE_SECONDS`.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler

from api.errors import ApiError
from market.accounts import READ, SCOPES, TRADE
from market.errors import UnauthorizedError

CACHE_SECONDS = 2.0
REVOCATION_POLL_SECONDS = 0.25
MAX_CACHED_KEYS = 10_000
MAX_KEY_LENGTH = 200
BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="flopex"'}


def _unauthorized(message: str) -> ApiError:
    return ApiError("unauthorized", message, status=401, headers=BEARER_CHALLENGE)


@dataclass(frozen=True)
class Principal:
    """The caller behind a key: the account id, its roles and the key's scopes."""

    account_id: str
    roles: frozenset[str]
    scopes: frozenset[str] = frozenset(SCOPES)


KeyResolver = Callable[[str], Principal]
"""Looks a plaintext key up in the exchange; raises ``UnauthorizedError`` for unknown or revoked keys."""


class Authenticator:
    """Resolves bearer keys to principals, with a short-lived cache of successful lookups."""

    def __init__(
        self,
        resolve: KeyResolver,
        clock: Callable[[], float] = time.monotonic,
        revocations: Callable[[], int] | None = None,
    ) -> None:
        """``revocations`` counts the keys ever revoked (None: rely on :data:`CACHE_SECONDS` alone)."""
        self._resolve = resolve
        self._clock = clock
        self._revocations = revocations
        self._revoked: int | None = None
        self._polled = -math.inf
        self._cache: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    async def _drop_if_revoked(self, now: float) -> None:
        """Empty the cache if a key was revoked since the last poll (polls at most every
        :data:`REVOCATION_POLL_SECONDS`)."""
        if self._revocations is None or now - self._polled < REVOCATION_POLL_SECONDS:
            return
        self._polled = now
        revoked = await anyio.to_thread.run_sync(self._revocations)
        if revoked != self._revoked:
            self._cache.clear()
            self._revoked = revoked

    def _cached(self, digest: str, now: float) -> Principal | None:
        """The principal ``digest`` resolved to within :data:`CACHE_SECONDS` of ``now``, if any."""
        cached = self._cache.get(digest)
        return cached[1] if cached is not None and now - cached[0] < CACHE_SECONDS else None

    def knows(self, key: str) -> bool:
        """Whether ``key`` resolved to a principal within :data:`CACHE_SECONDS` (a cache hit)."""
        return self._cached(hashlib.sha256(key.encode()).hexdigest(), self._clock()) is not None

    async def principal(self, key: str) -> Principal:
        """The principal for ``key`` or a 401 problem."""
        digest = hashlib.sha256(key.encode()).hexdigest()
        now = self._clock()
        await self._drop_if_revoked(now)
        cached = self._cached(digest, now)
        if cached is not None:
            return cached
        try:
            principal = await anyio.to_thread.run_sync(self._resolve, key)
        except UnauthorizedError:
            self._cache.pop(digest, None)
            raise _unauthorized("unknown or revoked API key") from None
        self._cache[digest] = (now, principal)
        self._cache.move_to_end(digest)
        if len(self._cache) > MAX_CACHED_KEYS:
            self._cache.popitem(last=False)
        return principal


def bearer_key(authorization: str | None) -> str:
    """The key of an ``Authorization: Bearer`` header, or a 401 problem."""
    if not authorization:
        raise _unauthorized("send Authorization: Bearer <api key>")
    scheme, _, key = authorization.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key or len(key) > MAX_KEY_LENGTH:
        raise _unauthorized("malformed Authorization header; expected Bearer <api key>")
    return key


def route_scope(handler: BaseRouteHandler, method: str) -> str:
    """The key scope a route needs: its ``opt["scope"]``, else ``read`` for GET/HEAD and ``trade``."""
    named = handler.opt.get("scope")
    if named is not None:
        return named
    return READ if method in ("GET", "HEAD") else TRADE


async def _identify(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> Principal:
    authenticator: Authenticator = connection.app.state.ctx.authenticator
    principal = await authenticator.principal(bearer_key(connection.headers.get("authorization")))
    needed = route_scope(handler, connection.scope.get("method", "GET"))
    if needed not in principal.scopes:
        raise ApiError("insufficient_scope", f"this key lacks the {needed} scope", status=403)
    connection.state.principal = principal
    return principal


async def authenticated(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Guard: any account with a valid key holding the route's scope."""
    await _identify(connection, handler)


def requires(*roles: str) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Any]:
    """Guard factory: an account holding at least one of ``roles`` (e.g. ``requires("admin")``)."""
    wanted = frozenset(roles)

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        principal = await _identify(connection, handler)
        if not principal.roles & wanted:
            needed = " or ".join(sorted(wanted))
            raise ApiError("forbidden", f"this action needs the role {needed}", status=403)

    return guard


def current_principal(request: Request[Any, Any, Any]) -> Principal:
    """Dependency: the principal a guard resolved for this request."""
    return request.state.principal


Caller = NamedDependency[Principal]
"""Handler parameter type for the ``principal`` dependency (the authenticated caller)."""


BEARER_SECURITY: list[dict[str, list[str]]] = [{"bearer": []}]
"""OpenAPI ``security`` for routes that need a key."""
