"""The double-entry ledger on its own: transfers sum to zero, overdrafts are refused, only the
exchange's settlement and external buckets may go negative, and nothing is written before a flush."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from market.errors import InsufficientFundsError
from market.ledger import (
    AVAILABLE,
    COLLATERAL,
    EXTERNAL,
    FEES,
    MARGIN,
    RESERVED,
    SETTLEMENT,
    SYSTEM,
    Ledger,
    bucket_rows,
)
from market.store import insert_ignore
from market.tables import Account, Balance, Entry, Transfer

ALICE = "acc_alice"


@pytest.fixture
def engine(db_engine: sa.Engine) -> sa.Engine:
    with db_engine.begin() as connection:
        connection.execute(
            Account.__table__.insert(), {"id": ALICE, "name": "alice", "roles": "trader", "created_us": 0}
        )
        connection.execute(Balance.__table__.insert(), bucket_rows(ALICE))
        insert_ignore(connection, Balance.__table__, bucket_rows(SYSTEM))
    return db_engine


def balances(engine: sa.Engine, owner: str) -> dict[str, int]:
    table = Balance.__table__
    with engine.connect() as connection:
        return dict(
            connection.execute(sa.select(table.c.bucket, table.c.amount).where(table.c.owner == owner)).all()
        )


def test_bucket_rows_start_at_zero_and_only_settlement_and_external_may_go_negative() -> None:
    assert {(r["bucket"], r["amount"], r["allow_negative"]) for r in bucket_rows(ALICE)} == {
        (AVAILABLE, 0, False),
        (RESERVED, 0, False),
        (MARGIN, 0, False),
        (COLLATERAL, 0, False),
    }
    negative = {r["bucket"] for r in bucket_rows(SYSTEM) if r["allow_negative"]}
    assert negative == {SETTLEMENT, EXTERNAL}


def test_a_posted_transfer_is_written_as_entries_that_sum_to_zero(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        ledger = Ledger(connection, now_us=42)
        ledger.move((SYSTEM, EXTERNAL), (ALICE, AVAILABLE), 5_000_000)
        ledger.move((ALICE, AVAILABLE), (ALICE, RESERVED), 1_250_000)
        assert ledger.balance(ALICE, AVAILABLE) == 3_750_000  # pending movements are visible at once
        assert ledger.post("deposit", account_id=ALICE, ref="r1")
        assert not ledger.post("nothing")  # no pending movement, no transfer
        ledger.move((ALICE, RESERVED), (SYSTEM, FEES), 250_000)
        ledger.post("fee")
        ids = ledger.flush()
        assert ledger.flush() == []  # flushed transfers are not written twice
    assert len(ids) == 2
    assert ids[0] < ids[1]
    assert balances(engine, ALICE) == {AVAILABLE: 3_750_000, RESERVED: 1_000_000, MARGIN: 0, COLLATERAL: 0}
    assert balances(engine, SYSTEM)[EXTERNAL] == -5_000_000
    assert balances(engine, SYSTEM)[FEES] == 250_000
    entries, transfers = Entry.__table__, Transfer.__table__
    with engine.connect() as connection:
        sums = dict(
            connection.execute(
                sa.select(entries.c.transfer_id, sa.func.sum(entries.c.amount)).group_by(
                    entries.c.transfer_id
                )
            ).all()
        )
        legs = connection.execute(sa.select(sa.func.count()).select_from(entries)).scalar_one()
        first = connection.execute(sa.select(transfers).where(transfers.c.id == ids[0])).one()
    assert sums == {ids[0]: 0, ids[1]: 0}
    assert legs == 6  # two legs a movement
    assert (first.kind, first.account_id, first.ref, first.created_us) == ("deposit", ALICE, "r1", 42)


def test_an_overdraft_is_refused_and_leaves_the_balances_alone(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        ledger = Ledger(connection, now_us=1)
        ledger.move((SYSTEM, EXTERNAL), (ALICE, AVAILABLE), 100)
        with pytest.raises(
            InsufficientFundsError, match=r"the withdrawal needs USD 0\.000101, available holds USD 0\.000100"
        ):
            ledger.move((ALICE, AVAILABLE), (SYSTEM, EXTERNAL), 101, "the withdrawal")
        assert ledger.balance(ALICE, AVAILABLE) == 100
        with pytest.raises(InsufficientFundsError):
            ledger.move((SYSTEM, FEES), (ALICE, AVAILABLE), 1)  # fees may not go negative either
        ledger.move((SYSTEM, SETTLEMENT), (ALICE, AVAILABLE), 7)  # the default fund may
        ledger.post("test")
        ledger.flush()
    assert balances(engine, ALICE)[AVAILABLE] == 107
    assert balances(engine, SYSTEM)[SETTLEMENT] == -7


def test_a_negative_amount_moves_the_other_way_and_zero_moves_nothing(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        ledger = Ledger(connection, now_us=1)
        ledger.move((ALICE, AVAILABLE), (SYSTEM, EXTERNAL), -300)  # i.e. external -> alice
        ledger.move((ALICE, AVAILABLE), (ALICE, MARGIN), 0)
        ledger.post("test")
        ledger.flush()
    assert balances(engine, ALICE) == {AVAILABLE: 300, RESERVED: 0, MARGIN: 0, COLLATERAL: 0}


def test_unposted_movements_are_not_flushed_and_unknown_buckets_are_refused(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        ledger = Ledger(connection, now_us=1)
        ledger.move((SYSTEM, EXTERNAL), (ALICE, AVAILABLE), 1)
        with pytest.raises(RuntimeError, match="unposted"):
            ledger.flush()
        with pytest.raises(KeyError):
            ledger.balance("acc_nobody", AVAILABLE)
