"""The tables of the state several API processes share (imported by :mod:`market.tables`, so they are
on the metadata). Their instants are the *database's* clock in epoch microseconds: they measure how
long ago a request or a refill happened across processes, never a market time (the exchange clock is
injected and may be anywhere), and one clock shared by every process is the database's.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class IdempotencyRecord(SQLModel, table=True):
    """The first completed response to a POST with an ``Idempotency-Key`` (``api.idempotency``).

    ``status`` is 0 while the first request is still running (``done`` false); ``headers`` is the
    response's header list as JSON ``[[name, value], ...]`` (Latin-1 text), ``body`` its bytes.
    ``fingerprint`` is the SHA-256 of the path and body the key was first used with.
    """

    __tablename__ = "idempotency_records"
    account_id: str = Field(primary_key=True, max_length=40)
    key: str = Field(primary_key=True, max_length=255)
    fingerprint: str = Field(max_length=64)
    created_us: int = Field(sa_type=sa.BigInteger, index=True)
    done: bool = Field(default=False)
    status: int = Field(default=0)
    headers: str = Field(default="[]", sa_type=sa.Text)
    body: bytes = Field(default=b"", sa_type=sa.LargeBinary)


class RateBucket(SQLModel, table=True):
    """One token bucket (``api.ratelimit``): ``tokens`` as of ``updated_us``, refilled lazily.

    ``name`` is the budget and the client, e.g. ``requests:k:<key digest>``. Tokens are a float: they
    count requests and seconds of compute, never money.
    """

    __tablename__ = "rate_buckets"
    name: str = Field(primary_key=True, max_length=120)
    tokens: float
    updated_us: int = Field(sa_type=sa.BigInteger, index=True)


class ServeProcess(SQLModel, table=True):
    """A ``flopex serve`` process over this database, as it last said (``market.sharing.registry``):
    the base URL clients reach it at, whether it holds books (``writer``), which (``books``), and
    when it last heartbeated (database clock). A row whose heartbeat is stale is a process that is gone."""

    __tablename__ = "serve_processes"
    url: str = Field(primary_key=True, max_length=200)
    writer: bool = Field(default=False)
    heartbeat_us: int = Field(sa_type=sa.BigInteger, index=True)
    books: str = Field(default="", max_length=2000, sa_column_kwargs={"server_default": ""})
    """What it holds: ``*`` every book (the single writer), else the comma-separated products whose
    books it holds as a shard (empty: none)."""


class BookPartition(SQLModel, table=True):
    """A product whose books a shard holds in a partition of their own (``market.partitions``):
    its commands are logged under ``partition`` = the product id from the first claim on. Every
    process replays those books from that partition, whatever mode it runs in."""

    __tablename__ = "book_partitions"
    product: str = Field(primary_key=True, max_length=16)
    claimed_us: int = Field(sa_type=sa.BigInteger)
