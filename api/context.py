"""What every handler reaches through ``request.app.state.ctx``: the exchange and the API's own state."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio
import sqlalchemy as sa
from litestar import Request
from litestar.di import NamedDependency

from api.auth import Authenticator
from api.batching import OrderBatcher
from api.cancel_timers import CancelTimers
from api.pricing_jobs import PricingPool
from api.ratelimit import TokenBuckets
from api.settings import Settings
from api.stream import StreamHub
from market.lifecycle.runner import Runner
from market.records import Changes, MarkInfo, OrderInfo
from market.service import Exchange

MARK_SECONDS = 5.0
"""How long a mark (fair value and Greeks) is reused before it is priced again."""

T = TypeVar("T")


@dataclass
class ApiContext:
    """The running API: settings, the exchange service and the in-process helpers around it."""

    settings: Settings
    engine: sa.Engine
    exchange: Exchange
    hub: StreamHub
    authenticator: Authenticator
    orders: OrderBatcher[tuple[OrderInfo, Changes]]
    price_budget: TokenBuckets
    lifecycle: Runner
    pricing: PricingPool
    cancel_timers: CancelTimers
    _ticks: dict[str, int] = field(default_factory=dict)
    _marks: dict[tuple[str, bool], tuple[float, MarkInfo]] = field(default_factory=dict)

    async def mark(self, symbol: str, *, greeks: bool) -> MarkInfo:
        """The exchange's mark of ``symbol``, reused for :data:`MARK_SECONDS` (pricing is costly)."""
        now = time.monotonic()
        cached = self._marks.get((symbol, greeks))
        if cached is not None and now - cached[0] < MARK_SECONDS:
            return cached[1]
        mark = await call(self.exchange.mark, symbol, greeks=greeks)
        self._marks[(symbol, greeks)] = (now, mark)
        return mark

    async def tick_micros(self, symbol: str) -> int:
        """The tick of an instrument (fixed at listing, so cached); ``unknown_instrument`` if none."""
        tick = self._ticks.get(symbol)
        if tick is None:
            tick = (await call(self.exchange.instrument, symbol)).tick_micros
            self._ticks[symbol] = tick
        return tick


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking exchange call in a worker thread so the event loop keeps serving."""
    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))


def context_of(request: Request[Any, Any, Any]) -> ApiContext:
    """Dependency: the :class:`ApiContext` of the application serving ``request``."""
    return request.app.state.ctx


Ctx = NamedDependency[ApiContext]
"""Handler parameter type for the ``ctx`` dependency."""
