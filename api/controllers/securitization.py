"""``POST /v1/securitization/price``: tranche analytics of a deal over HTTP (docs/securitization.md).

The body is a deal (``pricing.securitization.deal.DealSpec``, docs/securitization.md), taken as a
JSON object like the body of ``POST /v1/price`` and converted strictly by msgspec (no
string-to-number or float-to-integer coercion): wrong types, unknown keys and out-of-range
numbers are a ``validation_error`` naming the field; rules
across fields (cross references, lengths, forward sales above capacity, the index model) are an
``invalid_request`` naming it. The analysis runs eleven pool-and-waterfall simulations (the base,
seven bumps for the sensitivities, three scenarios), so one request is bounded in paths, paths x
periods and paths x providers, and it is charged to the key's pricing budget like ``POST /v1/price``.
"""

from __future__ import annotations

from typing import Any

import anyio
from litestar import Request, post
from litestar.exceptions import ValidationException
from litestar.params import JSONBody

from api.auth import BEARER_SECURITY, authenticated
from api.context import Ctx
from api.errors import ApiError
from api.openapi import PRIVATE, problems
from api.ratelimit import client_id, compute_budget
from pricing.securitization import DealAnalysis, DealError, analyse
from pricing.securitization.deal import Deal, check_deal, spec_of

MAX_HTTP_PATHS = 20_000
MAX_HTTP_PATH_PERIODS = 500_000
"""Most paths x periods per request (10,000 paths of a 50-month deal); each simulation holds arrays
of this size per note."""
MAX_HTTP_FIXINGS = 12_000_000
"""Most index fixings simulated per request (paths x periods x fixings per period): 10,000 paths of
a 36-month deal with daily fixings."""
MAX_HTTP_PROVIDER_PATHS = 2_000_000
"""Most providers x paths (the default draws)."""
_limiter = anyio.CapacityLimiter(1)


def _check_size(deal: Deal) -> None:
    spec = deal.spec
    paths = spec.mc.paths
    limits = [
        ("mc.paths", paths, MAX_HTTP_PATHS, "paths"),
        ("mc.paths", paths * spec.periods, MAX_HTTP_PATH_PERIODS, "paths x periods"),
        ("mc.paths", paths * len(spec.providers), MAX_HTTP_PROVIDER_PATHS, "paths x providers"),
        (
            "mc.fixings_per_period",
            paths * spec.periods * spec.mc.fixings_per_period,
            MAX_HTTP_FIXINGS,
            "paths x periods x fixings per period",
        ),
    ]
    for field, value, limit, what in limits:
        if value > limit:
            raise ApiError(
                "invalid_request",
                f"{what} is {value:,}, above the {limit:,} allowed per HTTP request; "
                "use the library or `flopex securitize` for more",
                field=field,
            )


@post(
    "/v1/securitization/price",
    tags=["pricing"],
    summary="Price the notes of a securitization deal",
    guards=[authenticated],
    security=BEARER_SECURITY,
    responses=problems(*PRIVATE),
    status_code=200,
)
async def price_deal(
    request: Request[Any, Any, Any], ctx: Ctx, data: JSONBody[dict[str, Any]]
) -> DealAnalysis:
    """Price, yield, spread, expected loss, WAL, duration, sensitivities and scenarios of each note
    of the deal in the body (the JSON format of docs/securitization.md)."""
    try:
        spec = spec_of(data)
    except DealError as exc:
        item = {"key": exc.path, "message": exc.reason, "source": "body"}
        raise ValidationException(detail=str(exc), extra=[item]) from None
    try:
        deal = check_deal(spec)
    except DealError as exc:
        raise ApiError("invalid_request", str(exc), field=exc.path) from None
    _check_size(deal)
    with compute_budget(ctx.price_budget, client_id(request.scope)):  # charged what it takes
        try:
            analysis, _ = await anyio.to_thread.run_sync(analyse, deal, limiter=_limiter)
        except DealError as exc:
            raise ApiError("invalid_request", str(exc), field=exc.path) from None
    return analysis
