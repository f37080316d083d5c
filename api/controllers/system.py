"""``GET /health``: is the database reachable and are the books open."""

from __future__ import annotations

import msgspec
import sqlalchemy as sa
from litestar import Response, get
from litestar.openapi import ResponseSpec

from api.context import Ctx, call


class Health(msgspec.Struct):
    """``ok`` when the database answers, every book opened and no lifecycle duty is failing;
    ``degraded`` otherwise. ``stale_indexes`` names products whose index is older than their plan
    allows (their marks are flagged ``stale``; trading goes on). ``holds_books`` is false on a
    standby still waiting to take the books over (``flopex serve --standby``): it is healthy, and
    sends book requests to the process holding them. ``products`` lists the products whose books a
    shard holds now (``flopex serve --products``, with any it adopted); null for a process holding
    every book."""

    status: str
    database: str
    refused_books: list[str]
    failing_duties: list[str]
    stale_indexes: list[str]
    holds_books: bool = True
    products: list[str] | None = None


def _ping(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))


@get(
    "/health",
    tags=["system"],
    summary="Health",
    responses={503: ResponseSpec(data_container=Health, description="degraded", generate_examples=False)},
)
async def health(ctx: Ctx) -> Response[Health]:
    """Database, book and lifecycle status; 503 when the database is unreachable, a book failed
    recovery or a lifecycle duty is failing (it is retried with backoff meanwhile)."""
    failing: list[str] = []
    stale: list[str] = []
    try:
        await call(_ping, ctx.engine)
        database = "ok"
        failing = await call(ctx.lifecycle.failing)
        stale = await call(ctx.exchange.stale_indexes)
    except sa.exc.SQLAlchemyError as exc:
        database = f"unreachable: {type(exc).__name__}"
    holds_books = ctx.exchange.started
    refused = sorted(ctx.exchange.refused_books) if holds_books else []
    status = "ok" if database == "ok" and not refused and not failing else "degraded"
    body = Health(
        status=status,
        database=database,
        refused_books=refused,
        failing_duties=failing,
        stale_indexes=stale,
        holds_books=holds_books,
        products=None if (held := ctx.exchange.shard_products) is None else sorted(held),
    )
    return Response(body, status_code=200 if status == "ok" else 503)
