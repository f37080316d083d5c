"""``GET /v1/time`` and ``GET /v1/fees``: what a bot asks an exchange before it trades."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import msgspec
from litestar import get
from litestar.params import FromQuery

from api.context import Ctx, call
from api.openapi import problems
from api.pagination import CursorParam, LimitParam, Page, decode_cursor, page_of
from api.schemas.common import ProductId
from market.records import InstrumentInfo

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PPM = Decimal(1_000_000)
_MS = timedelta(milliseconds=1)


class ServerTime(msgspec.Struct):
    """The exchange clock: the instant every order, trade and expiry is stamped with."""

    time: datetime
    epoch_ms: int


class FeeOut(msgspec.Struct):
    """What one instrument charges, as a fraction of the notional (``0.0002`` is 2 basis points), and
    the same in parts per million. The maker pays ``maker_rate`` when its resting order is hit, the
    taker ``taker_rate``; every account pays the same (there are no volume tiers)."""

    symbol: str
    product: str
    maker_rate: str
    taker_rate: str
    maker_fee_ppm: int
    taker_fee_ppm: int

    @classmethod
    def of(cls, info: InstrumentInfo) -> FeeOut:
        return cls(
            symbol=info.symbol,
            product=info.product,
            maker_rate=_rate(info.maker_fee_ppm),
            taker_rate=_rate(info.taker_fee_ppm),
            maker_fee_ppm=info.maker_fee_ppm,
            taker_fee_ppm=info.taker_fee_ppm,
        )


def _rate(ppm: int) -> str:
    return str((Decimal(ppm) / _PPM).quantize(Decimal("0.000001")))


@get("/v1/time", tags=["system"], summary="Server time", responses=problems())
async def server_time(ctx: Ctx) -> ServerTime:
    """The exchange clock now (UTC), also as milliseconds since the epoch: compare it with your own
    clock before computing ``expire_at`` or ``start``/``end`` filters."""
    now = ctx.exchange.now()
    return ServerTime(time=now, epoch_ms=(now - _EPOCH) // _MS)


@get("/v1/fees", tags=["market data"], summary="Fee schedule", responses=problems())
async def fees(
    ctx: Ctx, product: FromQuery[ProductId | None] = None, cursor: CursorParam = None, limit: LimitParam = 100
) -> Page[FeeOut]:
    """Maker and taker fees of every open or halted instrument (of ``product``), by product, delivery
    start and symbol. A fill's fee is ``rate x notional``, rounded down to the micro-dollar."""
    after = decode_cursor(cursor, str)
    found = [
        i for i in await call(ctx.exchange.instruments, product=product) if i.status in ("open", "halted")
    ]
    if after is not None:
        symbols = [i.symbol for i in found]
        found = found[symbols.index(after) + 1 :] if after in symbols else []
    return page_of(found[: limit + 1], limit, key=lambda i: i.symbol, render=FeeOut.of)
