"""The task that fires dead-man switches (``POST /v1/orders/cancel-all-after``) on time.

The deadlines live in the database (:mod:`market.cancel_timers`); this task keeps only the earliest
one in memory, so between deadlines it costs a clock reading every :data:`POLL_SECONDS`. When the
exchange clock reaches it, the task fires every due switch, publishes the cancelled orders on their
owners' private ``orders`` channel, and reads the next deadline. At start-up it reads the earliest
deadline from the database, so switches armed before a restart still fire (at once if their deadline
passed while the server was down).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

import anyio

from market.records import CancelSweep
from market.service import Exchange

log = logging.getLogger("flopex.api")

POLL_SECONDS = 0.2
"""How often the task compares the exchange clock with the earliest deadline."""


class CancelTimers:
    """The earliest armed deadline, and the loop that fires switches when it comes."""

    def __init__(self) -> None:
        self._earliest: datetime | None = None

    def armed(self, deadline: datetime | None) -> None:
        """A switch was armed or renewed until ``deadline``: check no later than that."""
        if deadline is not None and (self._earliest is None or deadline < self._earliest):
            self._earliest = deadline

    async def run(self, exchange: Exchange, announce: Callable[[CancelSweep], Awaitable[None]]) -> None:
        """Fire due switches until cancelled; ``announce`` publishes what each firing cancelled."""
        self.armed(await anyio.to_thread.run_sync(exchange.next_cancel_deadline))
        while True:
            if self._earliest is not None and exchange.now() >= self._earliest:
                try:
                    self._earliest = None
                    for sweep in await anyio.to_thread.run_sync(exchange.fire_cancel_timers):
                        await _announce(announce, sweep)
                    self.armed(await anyio.to_thread.run_sync(exchange.next_cancel_deadline))
                except Exception:  # the database may be briefly unreachable: try again shortly
                    log.exception("firing cancel-all-after timers failed")
                    self.armed(exchange.now())
            await anyio.sleep(POLL_SECONDS)


async def _announce(announce: Callable[[CancelSweep], Awaitable[None]], sweep: CancelSweep) -> None:
    """Publish one committed sweep; a failure is logged and the pass goes on with the next account's,
    since the cancellations are committed and firing again would find nothing to announce."""
    try:
        await announce(sweep)
    except Exception:
        log.exception("announcing the dead-man switch of %s failed", sweep.account_id)
