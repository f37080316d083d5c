"""Cursor pagination shared by every list endpoint.

A cursor is an opaque, URL-safe token that encodes the id of the last item of the previous page; the
next page holds the items after it, in the list's stable order. Cursors are tamper-evident: each
carries an HMAC-SHA256 tag under the server's cursor secret (``FLOPEX_CURSOR_SECRET``; a random one
per process when unset, so cursors then do not outlive a restart). A token this server did not issue,
or one altered by a single character, is rejected with ``invalid_cursor`` (400), and a ``limit``
above :data:`MAX_LIMIT` is a validation error rather than silently clamped.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Generic, Literal, TypeVar

import msgspec
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter

from api.context import call
from api.errors import ApiError
from market.spans import Span

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
_PREFIX = "c1:"
_TAG_BYTES = 12
_secret = secrets.token_bytes(32)

_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,64}")

T = TypeVar("T")
K = TypeVar("K", int, str)
R = TypeVar("R")

LimitParam = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description=f"page size, 1 to {MAX_LIMIT}")]
CursorParam = Annotated[
    str | None,
    QueryParameter(
        max_length=128,
        pattern=r"^[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+$",
        description="the `next_cursor` of the previous page; omit for the first page",
    ),
]

SortParam = Annotated[
    Literal["asc", "desc"],
    QueryParameter(description="`asc` (default): oldest first; `desc`: newest first"),
]
StartParam = Annotated[
    datetime | None, QueryParameter(description="only items at or after this instant (RFC 3339)")
]
EndParam = Annotated[datetime | None, QueryParameter(description="only items before this instant (RFC 3339)")]


def span_of(start: datetime | None, end: datetime | None, order: str) -> Span:
    """The market's :class:`~market.spans.Span` for the ``start``, ``end`` and ``order`` query
    parameters (``invalid_window`` unless ``start < end``)."""
    return Span(start, end, order == "desc")


@dataclass(frozen=True)
class History:
    """The page and time window a history list (trades, fills, orders, ledger entries) was asked for:
    its five query parameters, declared once and read by :func:`history_of`."""

    cursor: str | None
    limit: int
    span: Span


def history_of(
    cursor: CursorParam = None,
    limit: LimitParam = DEFAULT_LIMIT,
    start: StartParam = None,
    end: EndParam = None,
    order: SortParam = "asc",
) -> History:
    """The ``cursor``, ``limit``, ``start``, ``end`` and ``order`` query parameters of a history list."""
    return History(cursor, limit, span_of(start, end, order))


HISTORY = {"history": Provide(history_of, sync_to_thread=False)}
"""The dependency a history list's route declares to receive a :class:`History`..."""
Paging = NamedDependency[History]
"""... as a handler parameter ``history: Paging``."""


class Page(msgspec.Struct, Generic[T]):
    """One page of a list; ``next_cursor`` is null on the last page."""

    items: list[T]
    next_cursor: str | None


def use_cursor_secret(secret: str) -> None:
    """Sign cursors with ``secret`` (shared by every process serving the same database)."""
    global _secret
    _secret = hashlib.sha256(secret.encode()).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _tag(payload: bytes) -> bytes:
    return hmac.new(_secret, payload, hashlib.sha256).digest()[:_TAG_BYTES]


def encode_cursor(last_key: int | str) -> str:
    """The cursor that continues after the item whose key is ``last_key``."""
    payload = f"{_PREFIX}{last_key}".encode()
    return f"{_b64(payload)}.{_b64(_tag(payload))}"


def decode_cursor(cursor: str | None, kind: type[K]) -> K | None:
    """The key (an ``int`` or ``str`` id) a cursor continues after; ``None`` for the first page.

    A token that is not one this API issued for a list keyed by ``kind`` is ``invalid_cursor``.
    """
    if cursor is None or cursor == "":
        return None
    body, _, tag = cursor.partition(".")
    try:
        payload, signature = _unb64(body), _unb64(tag)
        text = payload.decode() if hmac.compare_digest(signature, _tag(payload)) else ""
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    key = text[len(_PREFIX) :]
    well_formed = text.startswith(_PREFIX) and _KEY.fullmatch(key) is not None
    if well_formed and kind is int:
        well_formed = key.isdigit() and int(key) < 2**63
    if not well_formed:
        raise ApiError(
            "invalid_cursor", "cursor is malformed; pass back a next_cursor unchanged", field="cursor"
        )
    return kind(key)


def page_of(rows: Sequence[T], limit: int, key: Callable[[T], K], render: Callable[[T], R]) -> Page[R]:
    """Build a page from up to ``limit + 1`` fetched rows (the extra row only signals that more exist)."""
    more = len(rows) > limit
    shown = rows[:limit]
    cursor = encode_cursor(key(shown[-1])) if more and shown else None
    return Page(items=[render(row) for row in shown], next_cursor=cursor)


async def owned_page(
    fetch: Callable[..., list[T]],
    owner: str,
    cursor: str | None,
    limit: int,
    key: Callable[[T], K],
    render: Callable[[T], R],
    kind: type[K] = int,
    **filters: object,
) -> Page[R]:
    """A page of ``fetch(owner, after=..., limit=..., **filters)``, which pages in SQL by a ``kind``
    key; the exchange call runs in a worker thread."""
    after = decode_cursor(cursor, kind)
    rows = await call(fetch, owner, after=after, limit=limit + 1, **filters)
    return page_of(rows, limit, key=key, render=render)
