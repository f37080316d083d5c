"""The dead-man switch task (:mod:`api.cancel_timers`) announces every committed sweep of a pass, even
when announcing one of them fails."""

from __future__ import annotations

from datetime import UTC, datetime

import anyio
import pytest

from api.cancel_timers import CancelTimers
from market.records import CancelSweep

NOW = datetime(2027, 1, 31, 23, 59, tzinfo=UTC)


class _Exchange:
    """Two accounts' switches due now; fired once."""

    def __init__(self) -> None:
        self.fired = 0

    def now(self) -> datetime:
        return NOW

    def next_cancel_deadline(self) -> datetime | None:
        return NOW if self.fired == 0 else None

    def fire_cancel_timers(self) -> list[CancelSweep]:
        self.fired += 1
        return [CancelSweep("acc_a", ()), CancelSweep("acc_b", ())]


@pytest.mark.anyio
async def test_a_failed_announcement_does_not_drop_the_next_accounts_sweep() -> None:
    exchange, announced = _Exchange(), []

    async def announce(sweep: CancelSweep) -> None:
        if sweep.account_id == "acc_a":
            raise RuntimeError("the hub is gone")
        announced.append(sweep.account_id)

    with anyio.move_on_after(1.0):
        await CancelTimers().run(exchange, announce)  # type: ignore[arg-type]
    assert (exchange.fired, announced) == (1, ["acc_b"])
