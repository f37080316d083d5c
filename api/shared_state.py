"""The API's per-client state held in the database, for several ``flopex serve`` processes over one
PostgreSQL: idempotency records (:class:`SharedIdempotencyStore`), request and failed-authentication
buckets (:class:`SharedBuckets`), and the API key cache's revocations (:func:`revocation_counter`).

Each is the in-process one's twin in behaviour, not in code: the middlewares take either through
their protocols (``api.idempotency.ResponseStore``, ``api.ratelimit.Budget``), and the SQL is in
:mod:`market.sharing.state`. Every database call runs in a worker thread, off the event loop.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import sqlalchemy as sa

from api.idempotency import TTL_SECONDS, KeptResponse, Slot
from market.sharing import state

log = logging.getLogger("flopex.api")

T = TypeVar("T")

STALE_SECONDS = 120.0
"""An unfinished idempotency record older than this is taken to be a dead process's and forgotten
(longer than any request runs: pricing is cut at ``FLOPEX_PRICE_TIMEOUT``, 30 s by default)."""

PURGE_SECONDS = 60.0
"""How often a process deletes expired idempotency records and idle buckets."""


async def _off_loop(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))


def shares_state(engine: sa.Engine) -> bool:
    """Whether the API keeps its per-client state in this database: on PostgreSQL, which several
    processes may serve; an SQLite file is served by one process, which keeps it in memory."""
    return engine.dialect.name == "postgresql"


class SharedIdempotencyStore:
    """``api.idempotency.ResponseStore`` in the ``idempotency_records`` table."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    async def claim(self, slot: Slot, fingerprint: str) -> KeptResponse | None:
        found = await _off_loop(
            state.claim_key,
            self.engine,
            *slot,
            fingerprint,
            ttl_us=int(TTL_SECONDS * 1e6),
            stale_us=int(STALE_SECONDS * 1e6),
        )
        if found is None:
            return None
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in found.headers]
        return KeptResponse(found.fingerprint, 0.0, found.status, headers, found.body, found.done)

    async def finish(self, slot: Slot, entry: KeptResponse) -> None:
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in entry.headers]
        await _off_loop(state.finish_key, self.engine, *slot, entry.status, headers, entry.body)

    async def abandon(self, slot: Slot) -> None:
        await _off_loop(state.release_key, self.engine, *slot)


class SharedBuckets:
    """``api.ratelimit.Budget`` in the ``rate_buckets`` table, the buckets named ``<policy>:<key>``."""

    def __init__(self, engine: sa.Engine, policy: str, rate: float, burst: float) -> None:
        if rate <= 0 or burst <= 0:
            raise ValueError("rate and burst must be positive")
        self.engine = engine
        self.policy = policy
        self.rate = rate
        self.burst = burst

    async def spend(self, key: str, cost: float = 1.0, *, force: bool = False) -> tuple[float, float]:
        name = f"{self.policy}:{key}"
        spent, tokens = await _off_loop(
            state.spend_tokens, self.engine, name, self.rate, self.burst, cost, force=force
        )
        return (0.0 if spent else (cost - tokens) / self.rate), tokens

    async def level(self, key: str) -> float:
        return await _off_loop(state.bucket_level, self.engine, f"{self.policy}:{key}", self.rate, self.burst)


def revocation_counter(engine: sa.Engine) -> Callable[[], int]:
    """What ``api.auth.Authenticator`` polls to learn of revocations made by any process."""
    return functools.partial(state.revoked_keys, engine)


async def purge_loop(engine: sa.Engine, bucket_idle_seconds: float) -> None:
    """Delete expired idempotency records and refilled buckets every :data:`PURGE_SECONDS`, until
    cancelled (a failed pass is logged and retried next time)."""
    while True:
        try:
            await _off_loop(state.purge, engine, int(TTL_SECONDS * 1e6), int(bucket_idle_seconds * 1e6))
        except Exception:
            log.exception("purging the shared API state failed")
        await anyio.sleep(PURGE_SECONDS)
