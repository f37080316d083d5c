"""Rate limits: a request budget per authenticated key, a failed-authentication budget per address.

Both are token buckets: a bucket refills at ``rate`` tokens per second up to ``burst``; a request
spends one token. On SQLite they are held in the process (:class:`TokenBuckets`; one process serves an
SQLite file); on PostgreSQL in the database (``api.shared_state.SharedBuckets``), so a client spreading
its requests over several ``flopex serve`` processes spends one budget. The pricing compute budget
(:func:`compute_budget`) stays per process: it rations this process's CPU.

:class:`RateLimiter` wraps the whole ASGI application (so it also sees requests that match no route)
and identifies the client *before* any handler runs:

- a request whose ``Authorization`` header holds a valid key is counted against that key, however
  the header is spelled (``Bearer``, ``bearer``, extra spaces: the key is what counts, not the text);
- a request with an invalid key spends a token of its address's failed-authentication bucket
  (:data:`AUTH_FAILURES_PER_MINUTE`); when that is empty it gets 429 before the key is even looked up,
  so keys cannot be guessed at speed;
- anything else is counted against the client address.

Every response carries the limits of the IETF draft *RateLimit header fields for HTTP*
(draft-ietf-httpapi-ratelimit-headers): ``RateLimit-Policy: "requests";q=<burst>;w=<seconds to
refill>`` and ``RateLimit: "requests";r=<remaining>;t=<seconds until full>``. Refusals are
``429 rate_limited`` problems that add ``Retry-After`` in whole seconds. The identity is left in the
request state (``client_id``) for the pricing budget, which counts compute per key the same way.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

import msgspec
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import Authenticator, bearer_key
from api.errors import PROBLEM_JSON, ApiError, problem_body

#: Buckets kept before the least recently used are forgotten (a forgotten bucket is simply full).
MAX_TRACKED_CLIENTS = 100_000

#: Paths never limited: liveness probes must work while a client is being throttled.
UNLIMITED_PATHS = frozenset({"/health"})

AUTH_FAILURES_PER_MINUTE = 30
"""Failed authentications an address may make per minute (and in a burst)."""

STATE_KEY = "client_id"
"""Where the limiter leaves the client identity in the request state."""


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """One token bucket per client key, refilled lazily when the key is next seen."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst <= 0:
            raise ValueError("rate and burst must be positive")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def _bucket(self, key: str) -> _Bucket:
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(self.burst, now)
            self._buckets[key] = bucket
            if len(self._buckets) > MAX_TRACKED_CLIENTS:
                self._buckets.popitem(last=False)
        else:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            self._buckets.move_to_end(key)
        return bucket

    def take(self, key: str, cost: float = 1.0) -> float:
        """Spend ``cost`` tokens if the bucket holds them: 0.0, else the seconds until it will."""
        bucket = self._bucket(key)
        if bucket.tokens >= cost:
            bucket.tokens -= cost
            return 0.0
        return (cost - bucket.tokens) / self.rate

    def charge(self, key: str, cost: float) -> None:
        """Spend (or, negative, refund) ``cost`` tokens unconditionally; the bucket may go into debt."""
        bucket = self._bucket(key)
        bucket.tokens = min(self.burst, bucket.tokens - cost)

    def remaining(self, key: str) -> float:
        """Tokens the bucket holds now (negative while in debt)."""
        return self._bucket(key).tokens

    async def spend(self, key: str, cost: float = 1.0, *, force: bool = False) -> tuple[float, float]:
        """:class:`Budget`'s spend: ``take`` (or, with ``force``, ``charge``) and the tokens left."""
        if force:
            self.charge(key, cost)
            return 0.0, self.remaining(key)
        wait = self.take(key, cost)
        return wait, self.remaining(key)

    async def level(self, key: str) -> float:
        """:class:`Budget`'s level: :meth:`remaining`."""
        return self.remaining(key)


class Budget(Protocol):
    """A set of token buckets as :class:`RateLimiter` uses them, in this process or in the database."""

    rate: float
    burst: float

    async def spend(self, key: str, cost: float = 1.0, *, force: bool = False) -> tuple[float, float]:
        """Spend ``cost`` tokens of ``key``'s bucket if it holds them (always with ``force``, into
        debt if need be): (0.0 or the seconds until it will hold them, tokens left)."""
        ...

    async def level(self, key: str) -> float:
        """Tokens ``key``'s bucket holds now (negative while in debt)."""
        ...


def limit_headers(budget: Budget, tokens: float, policy: str) -> list[tuple[bytes, bytes]]:
    """The draft's ``RateLimit-Policy`` and ``RateLimit`` fields for a bucket holding ``tokens``."""
    window = math.ceil(budget.burst / budget.rate)
    until_full = math.ceil(max(0.0, budget.burst - tokens) / budget.rate)
    return [
        (b"ratelimit-policy", f'"{policy}";q={int(budget.burst)};w={window}'.encode()),
        (b"ratelimit", f'"{policy}";r={max(0, math.floor(tokens))};t={until_full}'.encode()),
    ]


def too_many(retry_after: float, what: str) -> ApiError:
    """The 429 problem for a refused request."""
    seconds = max(1, math.ceil(retry_after))
    return ApiError(
        "rate_limited",
        f"{what} exceeded; retry after {seconds} s",
        status=429,
        headers={"Retry-After": str(seconds)},
    )


@contextmanager
def compute_budget(budget: TokenBuckets, key: str, estimate: float = 0.0) -> Iterator[None]:
    """Admit ``key`` to a computation against its compute ``budget``: ``estimate`` seconds are charged
    up front (a 429 ``too_many`` while the key is in debt), and when the block ends, however it ends,
    the difference between the time it really took and the estimate. One rule for every pricing
    route (``POST /v1/price``, ``POST /v1/securitization/price``, ``POST /v1/stress``)."""
    wait = budget.take(key, estimate)
    if wait:
        raise too_many(wait, "pricing compute budget")
    started = time.perf_counter()
    try:
        yield
    finally:
        budget.charge(key, time.perf_counter() - started - estimate)


def client_id(scope: Scope) -> str:
    """The identity :class:`RateLimiter` gave this request (the address if it did not run)."""
    found = scope.get("state", {}).get(STATE_KEY)
    return found if found is not None else _address(scope)


def _address(scope: Scope) -> str:
    client = scope.get("client")
    return f"a:{client[0] if client else 'unknown'}"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


class RateLimiter:
    """ASGI wrapper implementing the limits above around the whole application."""

    def __init__(
        self,
        app: ASGIApp,
        authenticator: Authenticator,
        requests: Budget | None,
        failures: Budget | None = None,
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.requests = requests
        self.failures = failures or TokenBuckets(
            rate=AUTH_FAILURES_PER_MINUTE / 60.0, burst=AUTH_FAILURES_PER_MINUTE
        )

    async def _identify(self, scope: Scope) -> tuple[str, ApiError | None]:
        """(identity, refusal): the key's digest for a valid key, else the address. A key the
        authenticator holds as valid is no guess, so its address's failure budget is not read (on
        PostgreSQL that is a database round trip saved on every request of a known client)."""
        address = _address(scope)
        authorization = _header(scope, b"authorization")
        if not authorization:
            return address, None
        try:
            key: str | None = bearer_key(authorization)
        except ApiError:
            key = None
        if key is None or not self.authenticator.knows(key):
            left = await self.failures.level(address)
            if left < 1:
                return address, too_many((1 - left) / self.failures.rate, "failed authentication limit")
        if key is not None:
            try:
                await self.authenticator.principal(key)
                return "k:" + hashlib.sha256(key.encode()).hexdigest()[:32], None
            except ApiError:
                pass
        await self.failures.spend(address, 1.0, force=True)
        return address, None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        identity, refusal = await self._identify(scope)
        scope.setdefault("state", {})[STATE_KEY] = identity
        headers: list[tuple[bytes, bytes]] = []
        if self.requests is not None:
            if refusal is None:
                wait, tokens = await self.requests.spend(identity)
                if wait:
                    refusal = too_many(wait, "request rate limit")
            else:
                tokens = await self.requests.level(identity)
            headers = limit_headers(self.requests, tokens, "requests")
        if refusal is not None:
            await _refuse(send, refusal, scope["path"], headers)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and headers:
                message = {**message, "headers": [*message.get("headers", []), *headers]}
            await send(message)

        await self.app(scope, receive, with_headers)


async def _refuse(send: Send, error: ApiError, path: str, extra: list[tuple[bytes, bytes]]) -> None:
    body = msgspec.json.encode(problem_body(error.status, error.code, error.message, instance=path))
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in error.headers.items()),
        *extra,
    ]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
