"""The state API processes share through the database (market.sharing.state), on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from market import db
from market.service import Exchange
from market.sharing import registry, state
from market.sharing.tables import ServeProcess
from tests.conftest import _fresh_postgres
from tests.market.conftest import START

DAY_US = 86_400 * 10**6


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(
    request: pytest.FixtureRequest, _sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[sa.Engine]:
    """One migrated database per dialect for the whole module (the tests use names of their own)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sharing") / "flopex.db"
        shutil.copyfile(_sqlite_template, path)
        urls: Iterator[str] = iter([f"sqlite:///{path}"])
    else:
        template = request.getfixturevalue("_postgres_template")
        urls = _fresh_postgres(template.set(database="postgres"), template.database)
    for url in urls:
        engine = db.make_engine(url)
        yield engine
        engine.dispose()


def test_a_key_is_claimed_once_then_replayed_or_refused(engine: sa.Engine) -> None:
    claim = lambda fp: state.claim_key(engine, "acc1", "k1", fp, ttl_us=DAY_US, stale_us=DAY_US)  # noqa: E731
    assert claim("fp-a") is None  # this caller holds it
    running = claim("fp-a")
    assert running is not None
    assert (running.done, running.fingerprint) == (False, "fp-a")
    state.finish_key(engine, "acc1", "k1", 201, [("content-type", "application/json")], b'{"n":1}')
    done = claim("fp-b")
    json_type = (("content-type", "application/json"),)
    assert done == state.StoredResponse("fp-a", True, 201, json_type, b'{"n":1}')
    assert state.claim_key(engine, "other", "k1", "fp-a", ttl_us=DAY_US, stale_us=DAY_US) is None


def test_an_abandoned_or_stale_claim_lets_the_retry_run(engine: sa.Engine) -> None:
    assert state.claim_key(engine, "acc", "k", "fp", ttl_us=DAY_US, stale_us=DAY_US) is None
    state.release_key(engine, "acc", "k")
    assert state.claim_key(engine, "acc", "k", "fp", ttl_us=DAY_US, stale_us=DAY_US) is None
    # its process died mid-request: once the claim is older than stale_us, a retry takes it over
    assert state.claim_key(engine, "acc", "k", "fp", ttl_us=DAY_US, stale_us=-1) is None
    state.finish_key(engine, "acc", "k", 200, [], b"ok")
    assert state.claim_key(engine, "acc", "k", "fp", ttl_us=DAY_US, stale_us=-1) is not None  # done stays
    assert state.claim_key(engine, "acc", "k", "fp", ttl_us=-1, stale_us=-1) is None  # expired
    records, _ = state.purge(engine, records_older_us=-1, buckets_idle_us=DAY_US)
    assert records >= 1
    assert state.claim_key(engine, "acc", "k", "fp2", ttl_us=DAY_US, stale_us=DAY_US) is None  # purged


def test_buckets_spend_refuse_and_go_into_debt(engine: sa.Engine) -> None:
    rate = 1e-6  # a token per 11.6 days: nothing refills during the test
    spend = lambda cost, **kw: state.spend_tokens(engine, "requests:debt", rate, 3, cost, **kw)  # noqa: E731
    assert [spend(1)[0] for _ in range(3)] == [True, True, True]
    spent, left = spend(1)
    assert not spent
    assert left == pytest.approx(0, abs=1e-3)
    assert spend(2, force=True) == (True, pytest.approx(-2, abs=1e-3))
    assert state.bucket_level(engine, "requests:debt", rate, 3) == pytest.approx(-2, abs=1e-3)
    assert state.bucket_level(engine, "requests:new", rate, 3) == 3  # no row: full
    assert spend(-100, force=True)[1] == 3  # a refund never lifts it above its burst


def test_a_fast_bucket_refills_by_the_database_clock(engine: sa.Engine) -> None:
    assert state.spend_tokens(engine, "fast", 1e6, 1, 1) == (True, 0)
    assert state.spend_tokens(engine, "fast", 1e6, 1, 1)[0]  # a million tokens a second: full again


def test_concurrent_processes_never_spend_the_same_token(engine: sa.Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("one SQLite file has one process")
    url = engine.url.render_as_string(hide_password=False)
    engines = [sa.create_engine(url, pool_size=4) for _ in range(2)]
    try:
        with ThreadPoolExecutor(8) as pool:
            spent = list(
                pool.map(lambda i: state.spend_tokens(engines[i % 2], "race", 1e-6, 10, 1)[0], range(40))
            )
        assert sum(spent) == 10
    finally:
        for e in engines:
            e.dispose()


def test_the_revocation_count_only_grows(engine: sa.Engine) -> None:
    exchange = Exchange(engine, clock=lambda: START)
    before = state.revoked_keys(engine)
    created = exchange.create_account("t", ["trader"])
    exchange.revoke_api_key(created.api_key)
    assert state.revoked_keys(engine) == before + 1


def test_the_registry_names_the_live_processes_and_the_holders(engine: sa.Engine) -> None:
    table = ServeProcess.__table__
    with engine.begin() as connection:
        connection.execute(table.delete())
    registry.heartbeat(engine, "http://b.test:8001", False)
    registry.heartbeat(engine, "http://a.test:8000", True)
    with engine.begin() as connection:  # a process that stopped beating 4 s ago: gone
        stale = state.database_now_us(connection) - registry.FRESH_US - 1_000_000
        connection.execute(table.insert().values(url="http://c.test:8002", writer=True, heartbeat_us=stale))
    assert registry.live_urls(engine) == ["http://a.test:8000", "http://b.test:8001"]
    assert registry.owners(engine) == {"*": "http://a.test:8000"}
    registry.leave(engine, "http://a.test:8000")
    assert registry.live_urls(engine) == ["http://b.test:8001"]
    assert registry.owners(engine) == {}  # only the stale writer is left
    registry.heartbeat(engine, "http://d.test:8003", True, "H100,H200")  # a shard
    with engine.begin() as connection:  # a shard that died holding B200
        dead = {"url": "http://e.test:8004", "writer": True, "heartbeat_us": stale, "books": "B200,H100"}
        connection.execute(table.insert().values(dead))
    assert registry.owners(engine) == {"H100": "http://d.test:8003", "H200": "http://d.test:8003"}
    # what d.test may have to adopt: e.test's products (their locks say whether e.test is gone)
    assert registry.orphans(engine, "http://d.test:8003") == {"B200", "H100"}
    assert registry.orphans(engine, "http://e.test:8004") == {"H100", "H200"}
    registry.heartbeat(engine, "http://d.test:8003", True, "H100,H200")  # d holds H100's lock
    assert registry.orphans(engine, "http://d.test:8003") == {"B200"}  # e's stale H100 struck
    assert registry.orphans(engine, "http://a.test:8000") == {"B200", "H100", "H200"}
