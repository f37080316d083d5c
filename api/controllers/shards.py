"""Operator routes moving a product's books between live shards (docs/scaling.md, *Planned moves*).

``POST /v1/admin/products/{product}/move`` is answered by the shard holding the product (any other
process answers ``421 book_elsewhere`` naming it, which ``api.client.Client`` follows): it stops
serving the product's books, heartbeats without them, frees their locks and asks the target's
``POST /v1/admin/products/{product}/adopt`` (with the caller's own credentials) to take them. The
target takes the product lock and rebuilds the books from their partition's command log, the path a
failover takes, so every acknowledged order is there. Meanwhile clients asking for the product get
``503 book_moving`` (no live holder), then ``421 book_elsewhere`` naming the target. If the target
does not take them, the holder takes them back and answers ``409 book_move_refused``.
"""

from __future__ import annotations

from typing import Any

import httpx
from litestar import Request, post
from litestar.params import JSONBody

from api.auth import BEARER_SECURITY, requires
from api.context import Ctx, call
from api.openapi import ADMIN, problems
from api.schemas.common import ProductId
from api.schemas.shards import BookMoveIn, BookMoveOut
from api.standby import Presence, announce_books
from market.errors import BookElsewhereError, BookMoveRefusedError, BookUnavailableError

ADOPT_TIMEOUT_SECONDS = 60.0
"""How long the holder waits for the target to rebuild the books (a replay of their whole log)."""


def _shard(request: Request[Any, Any, Any]) -> Presence:
    """This process's presence among the shards; ``book_move_refused`` when it is not a shard."""
    presence: Presence | None = request.app.state.get("presence")
    if presence is None or request.app.state.ctx.exchange.shard_products is None:
        raise BookMoveRefusedError("only shards (flopex serve --products on PostgreSQL) move books")
    return presence


ADMIN_ONLY: dict[str, Any] = {
    "tags": ["admin"],
    "guards": [requires("admin")],
    "security": BEARER_SECURITY,
    "status_code": 200,
}
"""What both routes share: operators' routes, answered 200."""


@post("/v1/admin/products/{product:str}/move", responses=problems(*ADMIN, 409, 421, 503), **ADMIN_ONLY)
async def move_books(
    ctx: Ctx, request: Request[Any, Any, Any], product: ProductId, data: JSONBody[BookMoveIn]
) -> BookMoveOut:
    """Move a product's books to another shard: hand them to the live shard ``to`` (see the module)."""
    presence = _shard(request)
    target = data.to.rstrip("/")
    if not ctx.exchange.holds(product):
        raise BookElsewhereError(f"this process does not hold the books of {product}", product)
    if target == presence.url or target not in set(presence.owners.values()):
        raise BookMoveRefusedError(f"{target} is not another live shard", field="to")
    symbols = [i.symbol for i in await call(ctx.exchange.instruments, product=product)]
    await call(ctx.exchange.release, product, lambda: announce_books(ctx.exchange, ctx.engine, presence))
    ctx.hub.books_moved(symbols)
    refusal = await _ask_to_adopt(target, product, request.headers.get("authorization", ""))
    if refusal is not None:
        try:  # keep serving them here
            await call(ctx.exchange.adopt, product)
        finally:
            await call(announce_books, ctx.exchange, ctx.engine, presence)
        raise BookMoveRefusedError(f"{target} did not take {product} ({refusal}); it stays here")
    presence.owners = {**presence.owners, product: target}
    return BookMoveOut(product=product, owner=target)


async def _ask_to_adopt(target: str, product: str, authorization: str) -> str | None:
    """Ask ``target`` to adopt ``product``'s books with the caller's credentials; why it did not, or None."""
    try:
        async with httpx.AsyncClient(timeout=ADOPT_TIMEOUT_SECONDS) as http:
            url = f"{target}/v1/admin/products/{product}/adopt"
            answer = await http.post(url, headers={"Authorization": authorization})
    except httpx.HTTPError as exc:
        return f"unreachable ({exc.__class__.__name__})"
    return None if answer.status_code == 200 else f"{answer.status_code} {answer.text[:200]}"


@post("/v1/admin/products/{product:str}/adopt", responses=problems(*ADMIN, 409), **ADMIN_ONLY)
async def adopt_books(ctx: Ctx, request: Request[Any, Any, Any], product: ProductId) -> BookMoveOut:
    """Take over a product's books no live process holds (a move's second half, or books left
    without a holder): ``book_move_refused`` while another process holds them."""
    presence = _shard(request)
    try:
        await call(ctx.exchange.adopt, product)
    except BookUnavailableError as exc:
        raise BookMoveRefusedError(f"{product} cannot be taken: {exc.message}") from None
    await call(announce_books, ctx.exchange, ctx.engine, presence)
    presence.owners = {**presence.owners, product: presence.url}
    return BookMoveOut(product=product, owner=presence.url)
