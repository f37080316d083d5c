"""What the API says about a book refused at recovery and about its rebuild."""

from __future__ import annotations

from datetime import datetime

import msgspec

from market.rebuild import BookDiff, BookRebuilt, OrderDifference
from market.recovery import Divergence
from market.units import from_epoch_us


class DivergenceOut(msgspec.Struct):
    """A logged command whose replayed events differ from the stored ones (both as JSON text)."""

    command_id: int
    logged_at: datetime
    command: str
    stored_events: str
    replayed_events: str

    @classmethod
    def of(cls, d: Divergence) -> DivergenceOut:
        return cls(d.command_id, from_epoch_us(d.created_us), d.command, d.stored, d.replayed)


class OrderDifferenceOut(msgspec.Struct):
    """An order's open lots in the database (``null``: not live there) and in the replayed book
    (``null``: not resting there)."""

    order_id: str
    stored_open_qty: int | None
    replayed_open_qty: int | None

    @classmethod
    def of(cls, o: OrderDifference) -> OrderDifferenceOut:
        return cls(o.order_id, o.stored, o.replayed)


class BookDiffOut(msgspec.Struct):
    """The stored book against the replay of the command log: ``refused`` when they differ;
    ``diverging`` commands since the book's last reset (the first 20 shown) and differing orders."""

    symbol: str
    refused: bool
    diverging: int
    divergences: list[DivergenceOut]
    orders: list[OrderDifferenceOut]

    @classmethod
    def of(cls, diff: BookDiff) -> BookDiffOut:
        return cls(
            diff.symbol,
            diff.refused,
            diff.diverging,
            [DivergenceOut.of(d) for d in diff.divergences],
            [OrderDifferenceOut.of(o) for o in diff.orders],
        )


class RebuildIn(msgspec.Struct, forbid_unknown_fields=True):
    """``confirm`` must be true: a rebuild cancels every live order of the book."""

    confirm: bool


class BookRebuiltOut(msgspec.Struct):
    """The orders the rebuild cancelled, the replay-only orders it dropped, and whether the book is
    still refused (false: it trades again)."""

    symbol: str
    cancelled: list[str]
    dropped: list[str]
    refused: bool

    @classmethod
    def of(cls, done: BookRebuilt) -> BookRebuiltOut:
        return cls(done.symbol, list(done.cancelled), list(done.dropped), done.refused)
