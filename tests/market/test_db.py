"""The database engine settings and the Alembic migrations, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import market.tables  # noqa: F401 - registers the tables the migrations must match
from market import db
from market.errors import DatabaseBusyError
from migrations import commands as migrate


def _tables(url: str) -> set[str]:
    engine = db.make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_to_head_then_downgrade_to_base(blank_db_url: str) -> None:
    migrate.upgrade(blank_db_url)
    assert migrate.current(blank_db_url) == migrate.head()
    assert _tables(blank_db_url) == set(SQLModel.metadata.tables)
    migrate.downgrade(blank_db_url, "base")
    assert migrate.current(blank_db_url) is None
    assert _tables(blank_db_url) == set()


def test_every_revision_steps_down_and_up_again(blank_db_url: str) -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config(blank_db_url))
    revisions = [rev.revision for rev in script.walk_revisions()]  # newest first
    migrate.upgrade(blank_db_url)
    for _, expected_after in zip(revisions, [*revisions[1:], None], strict=False):
        migrate.downgrade(blank_db_url, "-1")
        assert migrate.current(blank_db_url) == expected_after
    migrate.upgrade(blank_db_url)
    assert migrate.current(blank_db_url) == migrate.head()


def test_models_and_migrations_agree(db_url: str) -> None:
    engine = db.make_engine(db_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"models differ from migrations; run `flopex db revision`: {diff}"


def test_single_migration_head() -> None:
    assert len(ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_heads()) <= 1


def test_sqlite_engine_is_durable(sqlite_url: str) -> None:
    engine = db.make_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
            assert pragma("journal_mode") == "wal"
            assert pragma("synchronous") == 2  # FULL
            assert pragma("foreign_keys") == 1
            assert pragma("busy_timeout") == db.SQLITE_BUSY_TIMEOUT_MS
    finally:
        engine.dispose()


def test_sqlite_engine_creates_missing_directories(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'dir' / 'flopex.db'}"
    migrate.upgrade(url)
    assert (tmp_path / "nested" / "dir" / "flopex.db").exists()


def test_postgres_engine_uses_a_pool_and_psycopg(postgres_url: str) -> None:
    plain = sa.make_url(postgres_url).set(drivername="postgresql")
    engine = db.make_engine(plain)
    try:
        assert engine.url.drivername == "postgresql+psycopg"
        assert isinstance(engine.pool, sa.pool.QueuePool)
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def test_a_write_still_locked_after_the_busy_timeout_is_database_busy(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 50)
    engine = db.make_engine(sqlite_url)
    holder = sqlite3.connect(sa.make_url(sqlite_url).database)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the database's write lock
        with pytest.raises(DatabaseBusyError, match="send the request again"), engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE waits (x INTEGER)"))
        holder.rollback()
        with engine.begin() as connection:  # the lock gone, the same write goes through
            connection.execute(sa.text("CREATE TABLE waits (x INTEGER)"))
    finally:
        holder.close()
        engine.dispose()
    assert DatabaseBusyError("x").status == 503
