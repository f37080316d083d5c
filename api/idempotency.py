"""``Idempotency-Key`` for POST requests: a retried request gets the original response, not a second effect.

The first *completed* outcome of a POST that carries the header is stored under the caller's account
(whichever of its keys, however the ``Authorization`` header is spelled) and the ``Idempotency-Key``
value, together with a digest of the path and body. Completed means the request was executed to a
decision: a success, or a refusal by the exchange (400, 404, 409, 422). Answers that say nothing about
the request itself are never stored, so a retry is executed afresh: ``401``/``403`` (the key),
``408``/``413``/``415`` (the transport), ``421`` (another process holds the book: the same request,
key included, goes there next), ``429`` (the rate limit) and every ``5xx``. A request without
a valid key is passed on untouched (the route's guard answers it).

The same key with the same request returns the stored response again (marked with the header
``Idempotent-Replayed: true``); the same key with a different request is ``409 idempotency_key_reused``;
a retry that arrives while the first is still running is ``409 idempotency_key_in_use``.

Stored responses are kept for :data:`TTL_SECONDS` (like the 24 hours the big payment and exchange
APIs keep them): in this process on SQLite (:class:`IdempotencyStore`; one process serves an SQLite
file), in the database on PostgreSQL (``api.shared_state.SharedIdempotencyStore``), where every
``flopex serve`` over the database sees them. Effects that must be idempotent across restarts are
made so in the database as well: deposits pass the key to the exchange service, and orders are
idempotent by their ``client_order_id``.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import msgspec
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import Authenticator, bearer_key
from api.errors import PROBLEM_JSON, ApiError, problem_body

log = logging.getLogger(__name__)

HEADER = b"idempotency-key"
TTL_SECONDS = 24 * 3600
MAX_KEY_LENGTH = 255
MAX_STORED = 50_000
NOT_OUTCOMES = frozenset({401, 403, 408, 413, 415, 421, 429})
"""4xx statuses that are not an outcome of the request (see above): never stored."""


def is_outcome(status: int) -> bool:
    """Whether a response with ``status`` is a completed outcome worth replaying."""
    return 200 <= status < 500 and status not in NOT_OUTCOMES


@dataclass
class KeptResponse:
    """A key's record: the fingerprint of its first request and, once ``done``, the response."""

    fingerprint: str
    created: float
    status: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    done: bool = False


Slot = tuple[str, str]
"""Where a response is kept: (account id, ``Idempotency-Key``)."""


class ResponseStore(Protocol):
    """Where the middleware keeps responses: this process's memory or the database."""

    async def claim(self, slot: Slot, fingerprint: str) -> KeptResponse | None:
        """None when the caller now holds ``slot`` (a new request), else what is stored there."""
        ...

    async def finish(self, slot: Slot, entry: KeptResponse) -> None:
        """Keep ``entry``, the completed outcome of the request that claimed ``slot``."""
        ...

    async def abandon(self, slot: Slot) -> None:
        """Give an unfinished claim up (no outcome: a retry runs afresh)."""
        ...


class IdempotencyStore:
    """Responses by (client, key) in this process, expiring after :data:`TTL_SECONDS`, oldest
    forgotten first."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: OrderedDict[Slot, KeptResponse] = OrderedDict()

    async def claim(self, slot: Slot, fingerprint: str) -> KeptResponse | None:
        entry = self._entries.get(slot)
        if entry is not None and self._clock() - entry.created <= TTL_SECONDS:
            return entry
        self._entries[slot] = KeptResponse(fingerprint=fingerprint, created=self._clock())
        self._entries.move_to_end(slot)
        while len(self._entries) > MAX_STORED:
            self._entries.popitem(last=False)
        return None

    async def finish(self, slot: Slot, entry: KeptResponse) -> None:
        stored = self._entries.get(slot)
        if stored is not None:
            stored.status, stored.headers, stored.body = entry.status, entry.headers, entry.body
            stored.done = True

    async def abandon(self, slot: Slot) -> None:
        self._entries.pop(slot, None)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value
    return None


async def _send_problem(send: Send, status: int, code: str, detail: str) -> None:
    body = msgspec.json.encode(problem_body(status, code, detail))
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class IdempotencyMiddleware:
    """ASGI middleware implementing the protocol above for every POST route it wraps."""

    def __init__(
        self, app: ASGIApp, store: ResponseStore, authenticator: Authenticator, max_body: int
    ) -> None:
        self.app = app
        self.store = store
        self.authenticator = authenticator
        self.max_body = max_body

    async def _account(self, scope: Scope) -> str | None:
        """The account behind the request's key, or None if it has no valid key."""
        authorization = _header(scope, b"authorization")
        try:
            key = bearer_key(authorization.decode("latin-1") if authorization else None)
            return (await self.authenticator.principal(key)).account_id
        except ApiError:
            return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _header(scope, HEADER) if scope["type"] == "http" and scope["method"] == "POST" else None
        account = None if key is None else await self._account(scope)
        if key is None or account is None:
            await self.app(scope, receive, send)
            return
        if not key or len(key) > MAX_KEY_LENGTH:
            await _send_problem(
                send,
                400,
                "invalid_idempotency_key",
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters",
            )
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                detail = f"request body exceeds {self.max_body} bytes"
                await _send_problem(send, 413, "body_too_large", detail)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        slot = (account, key.decode("latin-1"))
        fingerprint = hashlib.sha256(scope["path"].encode() + b"\0" + body).hexdigest()

        stored = await self.store.claim(slot, fingerprint)
        if stored is not None:
            if stored.fingerprint != fingerprint:
                await _send_problem(
                    send,
                    409,
                    "idempotency_key_reused",
                    "this Idempotency-Key was used for a different request",
                )
            elif not stored.done:
                await _send_problem(
                    send,
                    409,
                    "idempotency_key_in_use",
                    "a request with this Idempotency-Key is still being processed",
                )
            else:
                await send(
                    {
                        "type": "http.response.start",
                        "status": stored.status,
                        "headers": [*stored.headers, (b"idempotent-replayed", b"true")],
                    }
                )
                await send({"type": "http.response.body", "body": stored.body})
            return

        entry = KeptResponse(fingerprint=fingerprint, created=0.0)
        replayed = False
        settled = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # after the body: the client's disconnect, when it comes
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def settle() -> None:
            nonlocal settled
            if settled:
                return
            settled = True
            if is_outcome(entry.status):
                await self.store.finish(slot, entry)
            else:
                await self.store.abandon(slot)

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry.status = message["status"]
                entry.headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                entry.body += message.get("body", b"")
                if not message.get("more_body", False):
                    # settled before the client has the answer: a retry it sends on reading it (a
                    # 421's, to the process named, with this key) must not find the key in use.
                    # The request ran, so a store that fails here must not withhold its answer
                    # (the key stays claimed: a resend is refused, never run twice)
                    try:
                        await settle()
                    except Exception:
                        log.exception("keeping the outcome of Idempotency-Key %r failed", slot[1])
            await send(message)

        try:
            await self.app(scope, replay, capture)
        finally:
            await settle()
