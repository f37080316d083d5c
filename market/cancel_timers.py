"""The dead-man switch: cancel every live order of an account unless its client keeps renewing.

A client arms the switch with a timeout (``POST /v1/orders/cancel-all-after``) and renews it before
the timeout runs out; if it stops (it crashed, lost its network), the exchange cancels all of the
account's live orders once the exchange clock passes the deadline. The deadline lives in the
database (table ``cancel_timers``), so it outlasts a restart of the server: a deadline that passed
while the server was down fires as soon as the server is back, because a client that could not renew
it is exactly the case the switch exists for.

Firing is its own use case (:func:`fire_cancel_timers`), run by the API's timer task; each firing is
one transaction that disarms the timer, cancels the orders and records their ids, so a timer never
fires twice and a renewal that commits first wins.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from market.changes import changes_of, records
from market.errors import InvalidRequestError
from market.orders import cancel_live
from market.records import CancelSweep, CancelTimerInfo
from market.store import insert_ignore, write_transaction
from market.tables import CancelTimer
from market.units import from_epoch_us

if TYPE_CHECKING:
    from market.house import House

MAX_TIMEOUT_SECONDS = 86_400
"""Longest timeout of the switch (a day); 0 disarms it."""

_timers = CancelTimer.__table__


def arm_cancel_timer(house: House, account_id: str, timeout_seconds: int) -> CancelTimerInfo:
    """Arm or renew the account's dead-man switch: its live orders are cancelled ``timeout_seconds``
    from now on the exchange clock unless it is renewed first; ``0`` disarms it."""
    if type(timeout_seconds) is not int or not 0 <= timeout_seconds <= MAX_TIMEOUT_SECONDS:
        raise InvalidRequestError(f"timeout must be 0 to {MAX_TIMEOUT_SECONDS} seconds", field="timeout")
    now = house.now_us()
    deadline = None if timeout_seconds == 0 else now + timeout_seconds * 1_000_000
    with write_transaction(house.db) as connection:
        fresh = {"account_id": account_id, "timeout_s": 0, "armed_us": now, "cancelled_ids": "[]"}
        insert_ignore(connection, _timers, [fresh])
        connection.execute(
            _timers.update()
            .where(_timers.c.account_id == account_id)
            .values(timeout_s=timeout_seconds, deadline_us=deadline, armed_us=now)
        )
    return cancel_timer(house, account_id)


def cancel_timer(house: House, account_id: str) -> CancelTimerInfo:
    """The account's dead-man switch (disarmed and never fired when it was never armed)."""
    with house.read() as connection:
        row = connection.execute(sa.select(_timers).where(_timers.c.account_id == account_id)).one_or_none()
    if row is None:
        return CancelTimerInfo(account_id, 0, None, None, None, ())
    return CancelTimerInfo(
        account_id,
        row.timeout_s,
        None if row.deadline_us is None else from_epoch_us(row.deadline_us),
        from_epoch_us(row.armed_us),
        None if row.fired_us is None else from_epoch_us(row.fired_us),
        tuple(json.loads(row.cancelled_ids)),
    )


def next_cancel_deadline(house: House) -> datetime | None:
    """The earliest deadline of an armed switch, or None when none is armed."""
    with house.read() as connection:
        first = connection.execute(sa.select(sa.func.min(_timers.c.deadline_us))).scalar()
    return None if first is None else from_epoch_us(first)


def fire_cancel_timers(house: House) -> list[CancelSweep]:
    """Fire every switch whose deadline the exchange clock has reached: in one transaction each,
    disarm it, cancel the account's live orders and record their ids. Returns what was cancelled.

    When one account's firing fails after others committed, the committed sweeps are returned (their
    timers are disarmed, so raising would lose their announcement for good) and the failed switch,
    rolled back and still due, fires on the next pass; a failure before any commit is raised."""
    now = house.now_us()
    with house.read() as connection:
        due = connection.execute(
            sa.select(_timers.c.account_id).where(_timers.c.deadline_us <= now).order_by(_timers.c.account_id)
        ).scalars()
        accounts = list(due)
    sweeps = []
    for account_id in accounts:
        try:
            sweep = _fire(house, account_id)
        except Exception:
            if not sweeps:
                raise
            break
        if sweep is not None:
            sweeps.append(sweep)
    return sweeps


def _fire(house: House, account_id: str) -> CancelSweep | None:
    """One account's firing in one transaction (None when a renewal committed first)."""
    with house.transaction() as uow:
        still_due = uow.connection.execute(
            _timers.update()
            .where(_timers.c.account_id == account_id, _timers.c.deadline_us <= uow.now_us)
            .values(deadline_us=None, fired_us=uow.now_us)
        ).rowcount
        if not still_due:
            return None
        rows = cancel_live(house, uow, account_id)
        ids = json.dumps([row["id"] for row in rows])
        uow.connection.execute(
            _timers.update().where(_timers.c.account_id == account_id).values(cancelled_ids=ids)
        )
        changes = changes_of(house, uow)
        sweep = CancelSweep(account_id, tuple(records(changes, rows, uow, house)), changes)
    return sweep
