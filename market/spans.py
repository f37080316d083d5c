"""Time windows and direction of the time-ordered reads (orders, fills, trades, ledger entries).

Every such list is read in pages by a key that grows with time (an id, or creation instant and id);
:class:`Span` narrows it to ``[start, end)`` and chooses oldest-first or newest-first, and
:func:`keyset` applies both, plus the key of the previous page's last item, to a query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from market.errors import InvalidWindowError
from market.units import to_epoch_us


@dataclass(frozen=True)
class Span:
    """``[start, end)`` (either open) and the order of a time-ordered list; the default is all of it,
    oldest first."""

    start: datetime | None = None
    end: datetime | None = None
    descending: bool = False

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise InvalidWindowError("end must be after start", field="end")


ALL = Span()


def keyset(
    query: sa.Select,
    span: Span,
    instant: sa.ColumnElement,
    keys: Sequence[sa.ColumnElement],
    after: Sequence[object] | None,
) -> sa.Select:
    """``query`` limited to ``span`` on the ``instant`` column (epoch microseconds), ordered by
    ``keys`` in the span's direction, continuing after the key values ``after`` (None: from the
    first row)."""
    if span.start is not None:
        query = query.where(instant >= to_epoch_us(span.start))
    if span.end is not None:
        query = query.where(instant < to_epoch_us(span.end))
    if after is not None:
        row, anchor = (keys[0], after[0]) if len(keys) == 1 else (sa.tuple_(*keys), sa.tuple_(*after))
        query = query.where(row < anchor if span.descending else row > anchor)
    return query.order_by(*(key.desc() if span.descending else key for key in keys))
