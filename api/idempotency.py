"""``Idempotency-Key`` for POST requests: a retried request gets the original response, not a second effect.

The first response (any status below 500) to a POST that carries the header is stored under the
caller's bearer key and the ``Idempotency-Key`` value, together with a digest of the method, path and
body. The same key with the same request returns the stored response again (marked with the header
``Idempotent-Replayed: true``); the same key with a different request is ``409 idempotency_key_reused``;
a retry that arrives while the first is still running is ``409 idempotency_key_in_use``.

Stored responses live in this process for :data:`TTL_SECONDS` (like the 24 hours the big payment and
exchange APIs keep them). Effects that must be idempotent across restarts are made so in the database
as well: deposits pass the key to the exchange service, and orders are idempotent by their
``client_order_id``.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import msgspec
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import PROBLEM_JSON, problem_body

HEADER = b"idempotency-key"
TTL_SECONDS = 24 * 3600
MAX_KEY_LENGTH = 255
MAX_STORED = 50_000


@dataclass
class _Stored:
    fingerprint: str
    created: float
    status: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    done: bool = False


class IdempotencyStore:
    """Responses by (client, key), expiring after :data:`TTL_SECONDS`, oldest forgotten first."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: OrderedDict[tuple[str, str], _Stored] = OrderedDict()

    def get(self, slot: tuple[str, str]) -> _Stored | None:
        entry = self._entries.get(slot)
        if entry is not None and self._clock() - entry.created > TTL_SECONDS:
            del self._entries[slot]
            return None
        return entry

    def begin(self, slot: tuple[str, str], fingerprint: str) -> _Stored:
        entry = _Stored(fingerprint=fingerprint, created=self._clock())
        self._entries[slot] = entry
        while len(self._entries) > MAX_STORED:
            self._entries.popitem(last=False)
        return entry

    def abandon(self, slot: tuple[str, str]) -> None:
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

    def __init__(self, app: ASGIApp, store: IdempotencyStore, max_body: int) -> None:
        self.app = app
        self.store = store
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _header(scope, HEADER) if scope["type"] == "http" and scope["method"] == "POST" else None
        if key is None:
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
        owner = hashlib.sha256(_header(scope, b"authorization") or b"").hexdigest()
        slot = (owner, key.decode("latin-1"))
        fingerprint = hashlib.sha256(scope["path"].encode() + b"\0" + body).hexdigest()

        stored = self.store.get(slot)
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

        entry = self.store.begin(slot, fingerprint)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return {"type": "http.disconnect"}
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry.status = message["status"]
                entry.headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                entry.body += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, replay, capture)
        finally:
            if 0 < entry.status < 500:
                entry.done = True
            else:
                self.store.abandon(slot)
