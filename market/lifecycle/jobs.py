"""The durable job table: one row per duty with its last run, outcome, failures and next run.

A runner claims a duty by taking its lease (a conditional update, so two runners never run one duty at
once, across processes too), runs it, and records the outcome and the next run in one statement.
Duties are idempotent at the level of the market (a second run of a due step changes nothing), so a
crash between a duty's effect and its bookkeeping re-runs it without doing anything twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from market.lifecycle.schedule import backoff_us
from market.store import insert_ignore
from market.tables import Job
from market.units import from_epoch_us

_jobs = Job.__table__
LEASE_US = 15 * 60_000_000  # a claimed duty is another runner's again after 15 minutes (a crashed run)
OK, FAILED, RUNNING = "ok", "failed", "running"


@dataclass(frozen=True)
class JobInfo:
    """One duty as ``flopex lifecycle status`` and ``GET /v1/admin/jobs`` show it."""

    name: str
    last_started: datetime | None
    last_finished: datetime | None
    outcome: str | None
    detail: str | None
    failures: int
    runs: int
    next_run: datetime


class JobStore:
    """The ``lifecycle_jobs`` rows of one database."""

    def __init__(self, engine: sa.Engine) -> None:
        self._db = engine

    def ensure(self, names: Iterable[str], now_us: int) -> None:
        """Create the rows of duties that have none yet, due at once (a fresh market catches up)."""
        rows = [{"name": n, "next_run_us": now_us, "failures": 0, "runs": 0} for n in names]
        with self._db.begin() as connection:
            insert_ignore(connection, _jobs, rows)

    def claim(self, name: str, owner: str, now_us: int) -> bool:
        """Take the duty's lease if it is free (or expired, or already ours); True when taken."""
        free = sa.or_(
            _jobs.c.lease_owner.is_(None), _jobs.c.lease_until_us < now_us, _jobs.c.lease_owner == owner
        )
        with self._db.begin() as connection:
            done = connection.execute(
                _jobs.update()
                .where(_jobs.c.name == name, free)
                .values(
                    lease_owner=owner,
                    lease_until_us=now_us + LEASE_US,
                    last_started_us=now_us,
                    last_outcome=RUNNING,
                )
            )
        return done.rowcount == 1

    def finish(self, name: str, owner: str, now_us: int, detail: str, next_run_us: int | None) -> int:
        """Record a run: ``next_run_us`` after a success; None for a failure, which is retried with
        backoff. Returns the consecutive failures so far (0 after a success)."""
        with self._db.begin() as connection:
            failures = connection.execute(
                sa.select(_jobs.c.failures).where(_jobs.c.name == name)
            ).scalar_one()
            failures = 0 if next_run_us is not None else failures + 1
            connection.execute(
                _jobs.update()
                .where(_jobs.c.name == name, _jobs.c.lease_owner == owner)
                .values(
                    lease_owner=None,
                    lease_until_us=None,
                    last_finished_us=now_us,
                    last_outcome=OK if next_run_us is not None else FAILED,
                    last_detail=detail[:500],
                    failures=failures,
                    runs=_jobs.c.runs + 1,
                    next_run_us=next_run_us if next_run_us is not None else now_us + backoff_us(failures),
                )
            )
        return failures

    def free(self, names: Iterable[str], owner: str) -> None:
        """Drop the leases other owners hold on ``names`` (their holder is known dead: it lost the
        clearing lock), so the duties can be claimed at once."""
        with self._db.begin() as connection:
            connection.execute(
                _jobs.update()
                .where(_jobs.c.name.in_(list(names)), _jobs.c.lease_owner != owner)
                .values(lease_owner=None, lease_until_us=None)
            )

    def due_at(self, name: str) -> int:
        """When the duty is next due (microseconds since the epoch)."""
        with self._db.connect() as connection:
            return connection.execute(sa.select(_jobs.c.next_run_us).where(_jobs.c.name == name)).scalar_one()

    def bring_forward(self, name: str, at_us: int) -> None:
        """Make the duty due at ``at_us`` if it was due later (a trigger such as a new fixing)."""
        with self._db.begin() as connection:
            connection.execute(
                _jobs.update()
                .where(_jobs.c.name == name, _jobs.c.next_run_us > at_us)
                .values(next_run_us=at_us)
            )

    def jobs(self) -> list[JobInfo]:
        """Every duty's row, by name."""
        with self._db.connect() as connection:
            rows = connection.execute(sa.select(_jobs).order_by(_jobs.c.name)).all()

        def instant(us: int | None) -> datetime | None:
            return None if us is None else from_epoch_us(us)

        return [
            JobInfo(
                name=r.name,
                last_started=instant(r.last_started_us),
                last_finished=instant(r.last_finished_us),
                outcome=r.last_outcome,
                detail=r.last_detail,
                failures=r.failures,
                runs=r.runs,
                next_run=from_epoch_us(r.next_run_us),
            )
            for r in rows
        ]
