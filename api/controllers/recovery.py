"""Operator routes for a book refused at recovery: its difference from the replay, and its rebuild."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import JSONBody

from api.auth import BEARER_SECURITY, requires
from api.context import Ctx, call
from api.openapi import ADMIN, problems
from api.publish import announce
from api.schemas.common import Symbol
from api.schemas.recovery import BookDiffOut, BookRebuiltOut, RebuildIn
from market.errors import InvalidRequestError


class RecoveryController(Controller):
    """Needs the ``admin`` role."""

    path = "/v1/admin/books"
    tags = ("admin",)
    guards = (requires("admin"),)
    security = BEARER_SECURITY

    @get("/{symbol:str}/recovery", summary="A book against its replay", responses=problems(*ADMIN, 404))
    async def recovery(self, ctx: Ctx, symbol: Symbol) -> BookDiffOut:
        """Replay the command log and compare the book with the database; changes nothing."""
        return BookDiffOut.of(await call(ctx.exchange.book_diff, symbol))

    @post(
        "/{symbol:str}/rebuild",
        status_code=200,
        summary="Rebuild a refused book",
        responses=problems(*ADMIN, 400, 404),
    )
    async def rebuild(self, ctx: Ctx, symbol: Symbol, data: JSONBody[RebuildIn]) -> BookRebuiltOut:
        """Cancel every live order of a refused book (holds released), restart it empty and log the
        reset so later replays agree. Needs ``{"confirm": true}``; a sound book is refused (400)."""
        if not data.confirm:
            raise InvalidRequestError(
                "a rebuild cancels every live order of the book: send confirm true", field="confirm"
            )
        done = await call(ctx.exchange.rebuild_book, symbol)
        await announce(ctx, (), [symbol])
        return BookRebuiltOut.of(done)
