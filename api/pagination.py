"""Cursor pagination shared by every list endpoint.

A cursor is an opaque, URL-safe token that encodes the id of the last item of the previous page; the
next page holds the items after it, in the list's stable order. Clients must not build cursors
themselves: a token that does not decode is rejected with ``invalid_cursor`` (400), and a ``limit``
above :data:`MAX_LIMIT` is a validation error rather than silently clamped.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Sequence
from typing import Annotated, Generic, TypeVar

import msgspec
from litestar.params import QueryParameter

from api.errors import ApiError

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
_PREFIX = "c1:"

_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,64}")

T = TypeVar("T")
K = TypeVar("K", int, str)
R = TypeVar("R")

LimitParam = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description=f"page size, 1 to {MAX_LIMIT}")]
CursorParam = Annotated[
    str | None,
    QueryParameter(
        max_length=64, description="the `next_cursor` of the previous page; omit for the first page"
    ),
]


class Page(msgspec.Struct, Generic[T]):
    """One page of a list; ``next_cursor`` is null on the last page."""

    items: list[T]
    next_cursor: str | None


def encode_cursor(last_key: int | str) -> str:
    """The cursor that continues after the item whose key is ``last_key``."""
    return base64.urlsafe_b64encode(f"{_PREFIX}{last_key}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, kind: type[K]) -> K | None:
    """The key (an ``int`` or ``str`` id) a cursor continues after; ``None`` for the first page.

    A token that is not one this API issued for a list keyed by ``kind`` is ``invalid_cursor``.
    """
    if cursor is None or cursor == "":
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
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


def page_of(rows: Sequence[T], limit: int, key: Callable[[T], int], render: Callable[[T], R]) -> Page[R]:
    """Build a page from up to ``limit + 1`` fetched rows (the extra row only signals that more exist)."""
    more = len(rows) > limit
    shown = rows[:limit]
    cursor = encode_cursor(key(shown[-1])) if more and shown else None
    return Page(items=[render(row) for row in shown], next_cursor=cursor)
