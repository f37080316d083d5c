"""``GET /v1/quote``: a strip quote for any product, window and GPU count (no key needed)."""

from __future__ import annotations

from typing import Annotated

from litestar import get
from litestar.params import QueryParameter

from api.context import Ctx, call
from api.openapi import problems
from api.schemas.common import Instant, ProductId
from api.schemas.quotes import StripQuoteOut
from market.quotes import MAX_GPUS, strip_quote


@get(
    "/v1/quote", summary="Strip quote for any window", tags=["market data"], responses=problems(400, 404, 503)
)
async def quote(
    ctx: Ctx,
    product: ProductId,
    start: Annotated[Instant, QueryParameter(description="first delivered hour (a whole UTC hour)")],
    end: Annotated[Instant, QueryParameter(description="end of the window, exclusive (a whole UTC hour)")],
    gpus: Annotated[int, QueryParameter(ge=1, le=MAX_GPUS, description="GPUs in every hour")],
) -> StripQuoteOut:
    """Fair value and Greeks per GPU-hour from the market model behind the marks, a bid/offer from the
    books of the listed forwards that best replicate the window, and the residual basis (GPU-hours no
    listed forward covers, and the standard deviation of what the replication leaves). See
    docs/hedging.md."""
    return StripQuoteOut.of(await call(strip_quote, ctx.exchange, product, start, end, gpus))
