"""The unit of work on its own: what one transaction gathers is written once, at flush, and read back
as written; commands are logged in order; book locks are stable keys that a second holder cannot take."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from market.errors import BookUnavailableError
from market.store import BookLocks, UnitOfWork, dumps, insert_ignore, lock_key, write_transaction
from market.tables import Command, Position, Product
from tests.market.conftest import CASH, Market


def stored_positions(engine: sa.Engine) -> list[tuple]:
    table = Position.__table__
    with engine.connect() as connection:
        rows = connection.execute(sa.select(table).order_by(table.c.account_id, table.c.symbol))
        return [
            (r.account_id, r.symbol, r.qty, r.cost_micros, r.margin_micros, r.fees_due_micros) for r in rows
        ]


def test_positions_are_gathered_in_memory_and_written_at_flush(market: Market, db_engine: sa.Engine) -> None:
    buyer, seller = market.buyer, market.seller
    with write_transaction(db_engine) as connection:
        uow = UnitOfWork(connection, now_us=10)
        long = uow.position(buyer, CASH)
        assert long == {
            "account_id": buyer,
            "symbol": CASH,
            "qty": 0,
            "cost_micros": 0,
            "margin_micros": 0,
            "fees_due_micros": 0,
            "variation_micros": 0,
        }
        long["qty"] += 3
        long["cost_micros"] += 300
        assert uow.position(buyer, CASH) is long  # one row per key within the unit of work
        uow.position(seller, CASH)["qty"] -= 3
        assert stored_positions(db_engine) == []  # nothing written before the flush
        uow.flush()
    assert stored_positions(db_engine) == sorted([(buyer, CASH, 3, 300, 0, 0), (seller, CASH, -3, 0, 0, 0)])
    with write_transaction(db_engine) as connection:  # a later unit of work updates what exists
        uow = UnitOfWork(connection, now_us=20)
        again = uow.position(buyer, CASH)
        assert (again["qty"], again["cost_micros"]) == (3, 300)
        again["qty"] = 0
        again["margin_micros"] = 5
        uow.flush()
    assert (buyer, CASH, 0, 300, 5, 0) in stored_positions(db_engine)


def test_the_command_log_keeps_commands_in_order_with_their_last_sequence(
    market: Market, db_engine: sa.Engine
) -> None:
    commands = Command.__table__
    with db_engine.connect() as connection:
        before = connection.execute(sa.select(sa.func.max(commands.c.id))).scalar() or 0
    with write_transaction(db_engine) as connection:
        uow = UnitOfWork(connection, now_us=99)
        assert not uow.applied
        uow.log({"type": "cancel", "symbol": CASH, "b": 1, "a": 2}, [{"seq": 7}, {"seq": 8}])
        uow.log({"type": "time"}, [])
        assert uow.applied  # a command reached the engine: a failure now needs a rebuild
        uow.flush()
    with db_engine.connect() as connection:
        rows = connection.execute(
            sa.select(commands).where(commands.c.id > before).order_by(commands.c.id)
        ).all()
    assert [(r.symbol, r.last_seq, r.created_us) for r in rows] == [(CASH, 8, 99), (None, 0, 99)]
    assert rows[0].command == '{"a":2,"b":1,"symbol":"A100-2026-12","type":"cancel"}'  # canonical form
    assert json.loads(rows[0].events) == [{"seq": 7}, {"seq": 8}]
    assert dumps({"b": [1, 2], "a": None}) == '{"a":null,"b":[1,2]}'


def test_insert_ignore_skips_rows_whose_key_exists(db_engine: sa.Engine) -> None:
    products = Product.__table__
    row = {"id": "L40S", "description": "first", "region": None, "created_us": 1}
    with db_engine.begin() as connection:
        insert_ignore(connection, products, [row])
        insert_ignore(connection, products, [{**row, "description": "second"}, {**row, "id": "B200"}])
    with db_engine.connect() as connection:
        stored = dict(connection.execute(sa.select(products.c.id, products.c.description)).all())
    assert stored == {"L40S": "first", "B200": "first"}


def test_lock_keys_are_stable_signed_64_bit_integers() -> None:
    keys = {lock_key(f"H100-2026-12-{d:02d}") for d in range(1, 29)}
    assert len(keys) == 28
    assert all(-(2**63) <= k < 2**63 for k in keys)
    assert lock_key("H100-2026-12") == lock_key("H100-2026-12")
    assert (
        lock_key("H100-2026-12") == -4662441241053078497
    )  # blake2b-64 of "flopex:book:H100-2026-12": fixed forever


@pytest.mark.postgres
def test_a_book_held_by_one_instance_is_refused_to_another(postgres_url: str) -> None:
    from market.db import make_engine

    engine = make_engine(postgres_url)
    first, second = BookLocks(engine), BookLocks(engine)
    try:
        first.acquire(["X-1", "X-2"])
        with pytest.raises(BookUnavailableError, match="X-2"):
            second.acquire(["X-2", "X-3"])
        first.acquire(["X-3"])  # a refused call holds nothing of what it asked for
        first.release()
        second.acquire(["X-3", "X-1", "X-2"])  # released locks are free again
    finally:
        first.release()
        second.release()
        engine.dispose()
