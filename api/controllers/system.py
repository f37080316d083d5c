"""``GET /health``: is the database reachable and are the books open."""

from __future__ import annotations

import msgspec
import sqlalchemy as sa
from litestar import Response, get
from litestar.openapi import ResponseSpec

from api.context import Ctx, call


class Health(msgspec.Struct):
    """``ok`` when the database answers and every book opened; ``degraded`` otherwise."""

    status: str
    database: str
    refused_books: list[str]


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
    """Database and book status; 503 when the database is unreachable or a book failed recovery."""
    try:
        await call(_ping, ctx.engine)
        database = "ok"
    except sa.exc.SQLAlchemyError as exc:
        database = f"unreachable: {type(exc).__name__}"
    refused = sorted(ctx.exchange.refused_books)
    status = "ok" if database == "ok" and not refused else "degraded"
    body = Health(status=status, database=database, refused_books=refused)
    return Response(body, status_code=200 if status == "ok" else 503)
