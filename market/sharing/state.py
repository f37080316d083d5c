"""Idempotency records, token buckets and the count of revoked keys, read and written in the database
so that every API process over it sees the same ones.

Each function is one short transaction. Ages are measured on the database's clock
(:func:`database_now_us`): the processes may run on machines whose clocks disagree, and the exchange
clock is injected (it may stand anywhere), so neither can say how old a record is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from market.sharing.tables import IdempotencyRecord, RateBucket
from market.store import insert_ignore, write_transaction
from market.tables import ApiKey

_records = IdempotencyRecord.__table__
_buckets = RateBucket.__table__
_keys = ApiKey.__table__

_NOW_US = {
    "postgresql": "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)",
    "sqlite": "SELECT CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)",
}


def database_now_us(connection: sa.Connection) -> int:
    """The database server's clock, in microseconds since the epoch."""
    return int(connection.exec_driver_sql(_NOW_US[connection.dialect.name]).scalar_one())


@dataclass(frozen=True)
class StoredResponse:
    """A key's record: the request's fingerprint and, once ``done``, the response to replay."""

    fingerprint: str
    done: bool
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def claim_key(
    engine: sa.Engine, account_id: str, key: str, fingerprint: str, ttl_us: int, stale_us: int
) -> StoredResponse | None:
    """Claim ``key`` for a new request of ``account_id``: None when this caller now holds it, else the
    record already there. A record older than ``ttl_us`` is forgotten, and so is one still unfinished
    after ``stale_us`` (its process died mid-request: the retry runs afresh, as after a 5xx)."""
    with write_transaction(engine) as connection:
        now = database_now_us(connection)
        slot = (_records.c.account_id == account_id) & (_records.c.key == key)
        expired = (_records.c.created_us < now - ttl_us) | (
            ~_records.c.done & (_records.c.created_us < now - stale_us)
        )
        connection.execute(_records.delete().where(slot & expired))
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        row = {"account_id": account_id, "key": key, "fingerprint": fingerprint, "created_us": now}
        claimed = connection.execute(
            dialect.insert(_records).values(row).on_conflict_do_nothing().returning(_records.c.key)
        ).first()
        if claimed is not None:
            return None
        found = connection.execute(sa.select(_records).where(slot)).one()
    pairs = tuple((name, value) for name, value in json.loads(found.headers))
    return StoredResponse(found.fingerprint, found.done, found.status, pairs, found.body)


def finish_key(
    engine: sa.Engine, account_id: str, key: str, status: int, headers: list[tuple[str, str]], body: bytes
) -> None:
    """Store the response of the request that claimed ``key`` (it is replayed from now on)."""
    with engine.begin() as connection:
        connection.execute(
            _records.update()
            .where(_records.c.account_id == account_id, _records.c.key == key)
            .values(done=True, status=status, headers=json.dumps(headers), body=body)
        )


def release_key(engine: sa.Engine, account_id: str, key: str) -> None:
    """Give up an unfinished claim (the request ended without an outcome: a retry runs afresh)."""
    with engine.begin() as connection:
        connection.execute(
            _records.delete().where(
                _records.c.account_id == account_id, _records.c.key == key, ~_records.c.done
            )
        )


def spend_tokens(
    engine: sa.Engine, name: str, rate: float, burst: float, cost: float, *, force: bool = False
) -> tuple[bool, float]:
    """Spend ``cost`` tokens of bucket ``name`` (``rate`` per second up to ``burst``; a bucket without
    a row is full) if it holds them, or always with ``force`` (it may go into debt; a negative cost, a
    refund, never lifts it above ``burst``). Returns (spent, tokens left); the row is locked while it
    is read and written, so concurrent processes never spend the same token twice."""
    with write_transaction(engine) as connection:
        now = database_now_us(connection)
        query = sa.select(_buckets.c.tokens, _buckets.c.updated_us).where(_buckets.c.name == name)
        row = connection.execute(query.with_for_update()).one_or_none()
        if row is None:
            insert_ignore(connection, _buckets, [{"name": name, "tokens": burst, "updated_us": now}])
            row = connection.execute(query.with_for_update()).one()
        tokens = _refilled(row.tokens, row.updated_us, now, rate, burst)
        spent = force or tokens >= cost
        if spent:
            tokens = min(burst, tokens - cost)
        connection.execute(
            _buckets.update().where(_buckets.c.name == name).values(tokens=tokens, updated_us=now)
        )
    return spent, tokens


def bucket_level(engine: sa.Engine, name: str, rate: float, burst: float) -> float:
    """The tokens bucket ``name`` holds now (negative while in debt), without spending any."""
    with engine.connect() as connection:
        now = database_now_us(connection)
        row = connection.execute(
            sa.select(_buckets.c.tokens, _buckets.c.updated_us).where(_buckets.c.name == name)
        ).one_or_none()
    return burst if row is None else _refilled(row.tokens, row.updated_us, now, rate, burst)


def _refilled(tokens: float, updated_us: int, now_us: int, rate: float, burst: float) -> float:
    return min(burst, tokens + max(0, now_us - updated_us) / 1e6 * rate)


def purge(engine: sa.Engine, records_older_us: int, buckets_idle_us: int) -> tuple[int, int]:
    """Delete idempotency records older than ``records_older_us`` and buckets untouched for
    ``buckets_idle_us`` (long enough to have refilled: a missing bucket is a full one). Returns the
    numbers deleted."""
    with engine.begin() as connection:
        now = database_now_us(connection)
        records = connection.execute(_records.delete().where(_records.c.created_us < now - records_older_us))
        buckets = connection.execute(_buckets.delete().where(_buckets.c.updated_us < now - buckets_idle_us))
    return records.rowcount, buckets.rowcount


def revoked_keys(engine: sa.Engine) -> int:
    """How many API keys were ever revoked: it only grows (keys are never deleted), so a process that
    sees it move knows a key it may have cached was revoked, whichever process revoked it."""
    with engine.connect() as connection:
        return connection.execute(
            sa.select(sa.func.count()).select_from(_keys).where(_keys.c.revoked_us.is_not(None))
        ).scalar_one()
