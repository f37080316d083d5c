"""Database fixtures shared by every test package.

SQLite always runs. PostgreSQL runs when ``FLOPEX_TEST_POSTGRES_URL`` names a server (for example
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); without it, or when the server cannot be reached,
PostgreSQL tests skip -- unless ``FLOPEX_REQUIRE_POSTGRES=1``, which turns both cases into failures so
that CI cannot silently skip them.

Each test gets its own fresh database copied from a template migrated once per session, so tests can
run in any order and never see each other's rows.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from market import db
from migrations import commands as migrate
from tests import machine_share

POSTGRES_ENV = "FLOPEX_TEST_POSTGRES_URL"
REQUIRE_ENV = "FLOPEX_REQUIRE_POSTGRES"


def _postgres_server_url() -> sa.URL:
    """The configured server URL, or a skip (a failure when PostgreSQL is required)."""
    required = os.environ.get(REQUIRE_ENV) == "1"
    raw = os.environ.get(POSTGRES_ENV)
    if not raw:
        if required:
            pytest.fail(f"{REQUIRE_ENV}=1 but {POSTGRES_ENV} is not set")
        pytest.skip(f"{POSTGRES_ENV} not set")
    url = sa.make_url(raw)
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        if required:
            pytest.fail(f"PostgreSQL at {url.render_as_string()} is unreachable: {exc.orig}")
        pytest.skip(f"PostgreSQL unreachable: {exc.orig}")
    finally:
        engine.dispose()
    return url


def _admin(server: sa.URL, statement: str) -> None:
    """Run a statement that cannot run inside a transaction (CREATE/DROP DATABASE)."""
    engine = sa.create_engine(db.make_engine(server).url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text(statement))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def _postgres_template() -> Iterator[sa.URL]:
    server = _postgres_server_url()
    name = f"flopex_tmpl_{uuid.uuid4().hex[:12]}"
    _admin(server, f'CREATE DATABASE "{name}"')
    template = server.set(database=name)
    try:
        migrate.upgrade(template)
        yield template
    finally:
        _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _fresh_postgres(server: sa.URL, template: str | None) -> Iterator[str]:
    name = f"flopex_test_{uuid.uuid4().hex[:12]}"
    clause = f' TEMPLATE "{template}"' if template else ""
    _admin(server, f'CREATE DATABASE "{name}"{clause}')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url(_postgres_template: sa.URL) -> Iterator[str]:
    """A fresh PostgreSQL database migrated to head."""
    yield from _fresh_postgres(_postgres_template.set(database="postgres"), _postgres_template.database)


@pytest.fixture
def blank_postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (no migrations applied)."""
    yield from _fresh_postgres(_postgres_server_url(), None)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "flopex.db"
    migrate.upgrade(f"sqlite:///{path}")
    engine = db.make_engine(f"sqlite:///{path}")
    with engine.connect() as connection:  # fold the WAL into the main file so a plain copy is complete
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
def sqlite_url(_sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh SQLite file database migrated to head."""
    path = tmp_path / "flopex.db"
    shutil.copyfile(_sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def blank_sqlite_url(tmp_path: Path) -> str:
    """A path for a new, empty SQLite database (no migrations applied)."""
    return f"sqlite:///{tmp_path / 'blank.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh migrated database, once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def blank_db_url(request: pytest.FixtureRequest) -> str:
    """A fresh empty database, once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue(f"blank_{request.param}_url")


@pytest.fixture
def db_engine(db_url: str) -> Iterator[sa.Engine]:
    """An engine on ``db_url``, disposed after the test."""
    engine = db.make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def _machine_share(request: pytest.FixtureRequest) -> Iterator[None]:
    """Under pytest-xdist, a benchmark runs alone on the machine (see :mod:`tests.machine_share`)."""
    workerinput = getattr(request.config, "workerinput", None)
    if workerinput is None:
        yield
        return
    with machine_share.share(workerinput["testrunuid"], machine_share.exclusive(request.node.path)):
        yield
