"""Per-key rate limits: a request budget for every route and a compute budget for pricing.

Both are token buckets held in the process (one server process serves one shard, see DESIGN.md): a
bucket refills at ``rate`` tokens per second up to ``burst``. A request spends one token; a pricing
request is admitted while its key's compute bucket is positive and is then charged the seconds it
actually took, so an expensive Monte Carlo run pushes the key into debt and its next request waits.
Refusals are ``429 rate_limited`` problems with a ``Retry-After`` header in whole seconds.

Clients are identified by a hash of their bearer key on routes that check keys (guards run before
the limiter), and by their address on public routes.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response

from api.errors import ApiError, problem

#: Buckets kept before the least recently used are forgotten (a forgotten bucket is simply full).
MAX_TRACKED_CLIENTS = 100_000

#: Paths never limited: liveness probes must work while a client is being throttled.
UNLIMITED_PATHS = frozenset({"/health"})


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

    def admit(self, key: str) -> float:
        """0.0 while the bucket is positive, else the seconds until it is (nothing is spent)."""
        bucket = self._bucket(key)
        return 0.0 if bucket.tokens > 0 else (-bucket.tokens + 1e-9) / self.rate

    def charge(self, key: str, cost: float) -> None:
        """Spend ``cost`` tokens unconditionally; the bucket may go into debt."""
        self._bucket(key).tokens -= cost


def client_key(request: Request[Any, Any, Any]) -> str:
    """A stable identity for limits: a digest of the bearer key once a guard has accepted it, else the
    client address (so made-up keys on public routes cannot open fresh buckets)."""
    authorization = request.headers.get("authorization", "")
    if authorization and getattr(request.state, "principal", None) is not None:
        return "k:" + hashlib.sha256(authorization.encode()).hexdigest()[:32]
    client = request.client
    return f"a:{client.host if client else 'unknown'}"


def too_many(retry_after: float, what: str) -> ApiError:
    """The 429 problem for a refused request."""
    seconds = max(1, math.ceil(retry_after))
    return ApiError(
        "rate_limited",
        f"{what} exceeded; retry after {seconds} s",
        status=429,
        headers={"Retry-After": str(seconds)},
    )


def request_limiter(buckets: TokenBuckets) -> Callable[[Request[Any, Any, Any]], Any]:
    """A ``before_request`` hook that spends one token per request and refuses with 429 when empty."""

    async def limit(request: Request[Any, Any, Any]) -> Response[Any] | None:
        if request.url.path in UNLIMITED_PATHS:
            return None
        wait = buckets.take(client_key(request))
        if wait:
            error = too_many(wait, "request rate limit")
            return problem(
                error.status, error.code, error.message, instance=request.url.path, headers=error.headers
            )
        return None

    return limit
