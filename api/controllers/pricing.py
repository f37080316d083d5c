"""``POST /v1/price``: the pricing core over HTTP.

Pricing is CPU-bound (Monte Carlo, LSM), so it runs in a worker thread and never blocks the event
loop; at most :data:`CONCURRENT_JOBS` requests price at once. Each key has a compute budget (seconds
of pricing per minute, ``FLOPEX_PRICE_BUDGET``): a key in debt gets ``429`` until it has recovered,
and one request may ask for at most :data:`MAX_HTTP_PATHS` Monte Carlo paths.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import msgspec
from litestar import Request, post
from litestar.params import JSONBody

import pricing
from api.auth import BEARER_SECURITY, authenticated
from api.context import Ctx
from api.errors import ApiError
from api.openapi import PRIVATE, problems
from api.ratelimit import client_key, too_many
from api.schemas.pricing import PriceResult

MAX_HTTP_PATHS = 5_000_000
CONCURRENT_JOBS = 2
_limiter = anyio.CapacityLimiter(CONCURRENT_JOBS)


def _check_paths(body: dict[str, Any]) -> None:
    mc = body.get("mc")
    paths = mc.get("paths") if isinstance(mc, dict) else None
    if isinstance(paths, int) and not isinstance(paths, bool) and paths > MAX_HTTP_PATHS:
        raise ApiError(
            "invalid_request",
            f"at most {MAX_HTTP_PATHS:,} paths per HTTP request; use the library or CLI for more",
            field="mc.paths",
        )


@post(
    "/v1/price",
    tags=["pricing"],
    summary="Price a contract",
    guards=[authenticated],
    security=BEARER_SECURITY,
    responses=problems(*PRIVATE, 422),
    status_code=200,
)
async def price(request: Request[Any, Any, Any], ctx: Ctx, data: JSONBody[dict[str, Any]]) -> PriceResult:
    """Value one pricing request (the JSON of ``pricing.price``); invalid fields are a 400 naming them,
    a valid request that cannot be valued accurately a 422 (``not_computable``)."""
    _check_paths(data)
    budget = ctx.price_budget
    key = client_key(request)
    wait = budget.admit(key)
    if wait:
        raise too_many(wait, "pricing compute budget")
    started = time.perf_counter()
    try:
        result = await anyio.to_thread.run_sync(pricing.price, data, limiter=_limiter)
    except pricing.RequestError as exc:  # NotComputableError: a valid request refused, 422
        status = 422 if isinstance(exc, pricing.NotComputableError) else 400
        raise ApiError(exc.code, str(exc), field=exc.path, status=status) from None
    finally:
        budget.charge(key, time.perf_counter() - started)
    return msgspec.convert(result, PriceResult)
