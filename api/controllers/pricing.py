"""``POST /v1/price``: the pricing core over HTTP, costed, fairly queued and cancellable.

The request is validated and costed first (:func:`api.pricing_jobs.estimate`); a request above the
per-request ceiling (``FLOPEX_PRICE_MAX_COST``, and never more than a key's whole budget) is refused,
and the estimate is charged to the key's compute budget before any work starts. Closed forms and
tiny simulations run in a server thread; the rest run in the pricing worker pool, whose process is
killed if the client disconnects or the deadline passes (see :mod:`api.pricing_jobs`). One request
may ask for at most :data:`MAX_HTTP_PATHS` Monte Carlo paths.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import msgspec
from litestar import Request, post
from litestar.params import JSONBody

from api.auth import BEARER_SECURITY, authenticated
from api.context import Ctx
from api.errors import ApiError
from api.openapi import PRIVATE, problems
from api.pricing_jobs import INLINE_COST, NOMINAL_RATE, Cost, attempt, estimate, unpack
from api.ratelimit import client_id, compute_budget
from api.schemas.pricing import PriceResult
from pricing import NotComputableError, RequestError

MAX_HTTP_PATHS = 5_000_000


def _costed(data: dict[str, Any], ceiling: int) -> Cost:
    try:
        cost = estimate(data)
    except RequestError as exc:
        status = 422 if isinstance(exc, NotComputableError) else 400
        raise ApiError(exc.code, str(exc), field=exc.path, status=status) from None
    if cost.request.mc.paths > MAX_HTTP_PATHS:
        raise ApiError(
            "invalid_request",
            f"at most {MAX_HTTP_PATHS:,} paths per HTTP request; use the library or CLI for more",
            field="mc.paths",
        )
    if cost.path_points > ceiling:
        raise ApiError(
            "too_expensive",
            f"this request needs about {cost.path_points:,} simulated path points, more than the "
            f"{ceiling:,} one request may use; ask for fewer paths, steps or Greeks",
            field="mc.paths",
            status=422,
        )
    return cost


async def _unless_disconnected(
    request: Request[Any, Any, Any], work: Callable[[], Awaitable[dict[str, Any]]]
) -> dict[str, Any] | None:
    """The result of ``work``, or None if the client went away first (``work`` is then cancelled)."""
    outcome: list[dict[str, Any] | ApiError] = []
    async with anyio.create_task_group() as tasks:

        async def run() -> None:
            try:
                outcome.append(await work())
            except ApiError as exc:
                outcome.append(exc)
            tasks.cancel_scope.cancel()

        tasks.start_soon(run)
        while (await request.receive())["type"] != "http.disconnect":
            pass
        tasks.cancel_scope.cancel()
    if outcome and isinstance(outcome[0], ApiError):
        raise outcome[0]
    return outcome[0] if outcome else None


@post(
    "/v1/price",
    tags=["pricing"],
    summary="Price a contract",
    guards=[authenticated],
    security=BEARER_SECURITY,
    responses=problems(*PRIVATE, 422, 503),
    status_code=200,
)
async def price(request: Request[Any, Any, Any], ctx: Ctx, data: JSONBody[dict[str, Any]]) -> PriceResult:
    """Value one pricing request (the JSON of ``pricing.price``); invalid fields are a 400 naming them,
    a valid request that cannot be valued accurately a 422 (``not_computable``), as is one over the cost
    ceiling (``too_expensive``); a key over its compute budget gets a 429."""
    budget = ctx.price_budget
    cost = _costed(data, min(ctx.settings.price_max_cost, int(budget.burst * NOMINAL_RATE)))
    key = client_id(request.scope)
    with compute_budget(budget, key, cost.seconds):
        if cost.path_points <= INLINE_COST:
            result = unpack(await anyio.to_thread.run_sync(attempt, data))
        else:
            result = await _unless_disconnected(request, lambda: ctx.pricing.run(key, data))
    if result is None:
        raise ApiError("client_disconnected", "the client went away; the computation was stopped", status=408)
    return msgspec.convert(result, PriceResult)
