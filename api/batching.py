"""Group commit for order entry: concurrent orders share one database transaction.

Each new order waits in a queue; one task takes everything queued (up to :data:`MAX_BATCH`) and
hands it to ``Exchange.place_orders``, which applies the orders in arrival order and commits once.
While a batch commits, the next one accumulates, so a lone order is never delayed by a timer and a
busy server pays one commit for many orders. Every caller still receives its answer only after the
commit that made its order durable.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Generic, TypeVar

import anyio

from market.errors import BookUnavailableError, MarketError
from market.records import Changes, OrderInfo, OrderRequest

if TYPE_CHECKING:
    from market.service import Exchange

MAX_BATCH = 256

R = TypeVar("R")
PlaceOrders = Callable[[Sequence[tuple[str, OrderRequest]]], list[R | MarketError]]


def place_orders_with_changes(
    exchange: Exchange,
) -> PlaceOrders[tuple[OrderInfo, Changes]]:
    """What the API's batcher places with: ``Exchange.place_orders_committed``, each placed order
    paired with the changes of the commit it shared, for the stream (:func:`api.publish.announce`)."""

    def place(batch: Sequence[tuple[str, OrderRequest]]) -> list[tuple[OrderInfo, Changes] | MarketError]:
        placed = exchange.place_orders_committed(batch)
        return [r if isinstance(r, MarketError) else (r, placed.changes) for r in placed.value]

    return place


class OrderBatcher(Generic[R]):
    """Queues orders and places them in grouped transactions (see the module docstring); ``R`` is what
    ``place_orders`` answers for each placed order."""

    def __init__(self, place_orders: PlaceOrders[R]) -> None:
        self._place_orders = place_orders
        self._queue: list[tuple[str, OrderRequest, asyncio.Future[R]]] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the placing task on the running event loop."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="flopex-order-batcher")

    async def stop(self) -> None:
        """Stop placing; orders still queued fail as unavailable."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for _, _, future in self._queue:
            if not future.done():
                future.set_exception(BookUnavailableError("the server is shutting down"))
        self._queue.clear()

    async def place(self, account_id: str, request: OrderRequest) -> R:
        """Place one order; returns after the commit that holds it (or raises its ``MarketError``)."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((account_id, request, future))
        self._wakeup.set()
        return await future

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                try:
                    results = await anyio.to_thread.run_sync(
                        self._place_orders, [(account_id, request) for account_id, request, _ in batch]
                    )
                except Exception as exc:  # the whole transaction failed: every caller learns why
                    for _, _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, _, future), result in zip(batch, results, strict=True):
                    if future.done():
                        continue
                    if isinstance(result, MarketError):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
