"""Running the duties: whatever is due, in order, each under its lease in the job table.

:meth:`Runner.run_due` is one pass: it creates missing job rows (due at once, so a fresh or long-idle
market catches up on its first pass), brings the triggered duties forward when a fixing, an instrument
or a listing appeared since the last pass, then runs each due duty in :data:`DUTIES` order. A duty that
raises is recorded as failed and retried with backoff (see :func:`~market.lifecycle.schedule.backoff_us`);
the others run regardless. ``flopex serve`` calls it in a background task every few seconds on the
exchange's clock; ``flopex lifecycle run`` calls it from the command line.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from market.clearing.remargin import RemarginReport
from market.lifecycle.duties import DUTIES, TRIGGERED, Duty, in_order
from market.lifecycle.jobs import FAILED, JobInfo, JobStore
from market.records import SettlementReport
from market.securitization.records import ServiceReport
from market.service import Exchange
from market.tables import Fixing, Instrument, Listing
from market.units import to_epoch_us

log = logging.getLogger("flopex.lifecycle")


@dataclass(frozen=True)
class DutyRun:
    """One duty run of a pass: its name, whether it succeeded, what it did (or the error) and the
    report of its use case (settlement and clearing passes; None otherwise)."""

    name: str
    ok: bool
    detail: str
    report: SettlementReport | RemarginReport | ServiceReport | None = None


def default_owner() -> str:
    """A lease owner naming this process: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Runner:
    """Runs the lifecycle's duties for one exchange (whose books must be open)."""

    def __init__(
        self,
        exchange: Exchange,
        engine: sa.Engine,
        *,
        owner: str | None = None,
        duties: tuple[Duty, ...] = DUTIES,
        elected: tuple[Duty, ...] = (),
    ) -> None:
        """``elected``: duties run only while ``exchange.elect()`` says this process is the elected
        clearing process (a shard's share of the account-wide duties; empty for a single writer)."""
        self._ex = exchange
        self._db = engine
        self.jobs = JobStore(engine)
        self._owner = owner or default_owner()
        self._duties = duties
        self._elected = elected
        self._was_elected = False
        self._seen: tuple[int, int, int] | None = None
        self._pass = threading.Lock()  # one pass at a time; stop() waits for the current one
        self._stopped = False

    def stop(self) -> None:
        """Wait for a pass in progress to end; later calls of :meth:`run_due` do nothing."""
        with self._pass:
            self._stopped = True

    def run_due(self) -> list[DutyRun]:
        """Run every duty that is due now, in order; returns what ran (nothing once stopped)."""
        with self._pass:
            return [] if self._stopped else self._run_due()

    def _run_due(self) -> list[DutyRun]:
        now_us = to_epoch_us(self._ex.now())
        duties = self._current()
        self.jobs.ensure((d.name for d in duties), now_us)
        self._trigger(now_us, duties)
        previous = {j.name: j.last_finished for j in self.jobs.jobs()}
        ran = []
        for duty in duties:
            now_us = to_epoch_us(self._ex.now())
            if self.jobs.due_at(duty.name) > now_us or not self.jobs.claim(duty.name, self._owner, now_us):
                continue
            try:
                outcome = duty.run(self._ex, previous.get(duty.name))
            except Exception as exc:  # a failing duty must not stop the others: record it, retry later
                detail = f"{type(exc).__name__}: {exc}"
                failures = self.jobs.finish(duty.name, self._owner, to_epoch_us(self._ex.now()), detail, None)
                log.warning("lifecycle duty %s failed (%d in a row): %s", duty.name, failures, detail)
                ran.append(DutyRun(duty.name, False, detail))
                continue
            self.jobs.finish(
                duty.name, self._owner, to_epoch_us(self._ex.now()), outcome.detail, outcome.next_run_us
            )
            ran.append(DutyRun(duty.name, True, outcome.detail, outcome.report))
        self._seen = self._probe()  # what this pass listed or marked does not trigger the next one
        return ran

    def _current(self) -> tuple[Duty, ...]:
        """This pass's duties: this runner's own, with the elected ones while it is elected. On
        winning the election it frees their leases: the previous holder lost the clearing lock by
        dying, so a lease it left would block the duty for ``LEASE_US``."""
        if not self._elected:
            return self._duties
        elected = self._ex.elect()
        if elected and not self._was_elected:
            self.jobs.free((d.name for d in self._elected), self._owner)
        self._was_elected = elected
        return in_order(self._duties + self._elected) if elected else self._duties

    def _trigger(self, now_us: int, duties: tuple[Duty, ...]) -> None:
        """Bring the triggered duties forward when fixings, open instruments or listings changed."""
        seen = self._probe()
        if seen != self._seen:
            for duty in duties:  # a shard's duty is named <duty>@<shard>
                if duty.name.partition("@")[0] in TRIGGERED:
                    self.jobs.bring_forward(duty.name, now_us)
            self._seen = seen

    def _probe(self) -> tuple[int, int, int]:
        """The newest fixing and listing ids and the number of open instruments."""
        with self._db.connect() as connection:
            return (
                connection.execute(sa.select(sa.func.max(Fixing.__table__.c.id))).scalar() or 0,
                connection.execute(
                    sa.select(sa.func.count()).where(Instrument.__table__.c.status == "open")
                ).scalar_one(),
                connection.execute(sa.select(sa.func.max(Listing.__table__.c.id))).scalar() or 0,
            )

    def status(self) -> list[JobInfo]:
        """Every duty's job row."""
        return self.jobs.jobs()

    def failing(self) -> list[str]:
        """This runner's duties whose last run failed (``/health`` reports the lifecycle degraded while
        any do; another shard's failing duties are that shard's to report)."""
        mine = {d.name for d in self._duties + (self._elected if self._was_elected else ())}
        return [j.name for j in self.jobs.jobs() if j.outcome == FAILED and j.name in mine]
