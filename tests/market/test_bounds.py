"""Money and quantities past 64 bits (issue #12, item 5), on SQLite and PostgreSQL.

The audit deposited USD 999,999,999,999.999999 eleven times: SQLite stored the sums as floating point
(balances of 1.1e19 and -1.1e19) and the invariant check then failed with a 500; PostgreSQL answered
the tenth deposit with a 500. Every balance now stays within +/- MAX_MICROS, checked before writing,
and a sum the database itself cannot hold rolls back as a request error.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from market import db
from market.errors import BalanceLimitError, OutOfRangeError
from market.service import Exchange
from market.tables import Balance
from market.units import MAX_MICROS, dollars_to_micros

BIG = dollars_to_micros("999999999999.999999")


def test_deposits_stop_at_the_balance_limit_and_balances_stay_integers(db_url: str) -> None:
    engine = db.make_engine(db_url)
    try:
        exchange = Exchange(engine)
        exchange.start()
        account = exchange.create_account("whale", ["trader"]).account.id
        refusals: list[BalanceLimitError] = []
        for i in range(11):
            try:
                exchange.deposit(account, BIG, f"d{i}")
            except BalanceLimitError as exc:
                refusals.append(exc)
        accepted = 11 - len(refusals)
        assert all("USD" in exc.message for exc in refusals)
        assert accepted == MAX_MICROS // BIG == 4  # the fifth would pass USD 4.6e12
        with engine.connect() as connection:
            amounts = connection.execute(sa.select(Balance.__table__.c.amount)).scalars().all()
        assert all(type(a) is int and abs(a) <= MAX_MICROS for a in amounts)
        assert sum(amounts) == 0
        assert exchange.check() == []
        exchange.close()
    finally:
        engine.dispose()


def test_a_sum_the_database_cannot_hold_is_a_request_error(db_url: str) -> None:
    engine = db.make_engine(db_url)
    try:
        table = Balance.__table__
        row = {"owner": "x", "bucket": "available", "amount": 2**64, "allow_negative": False}
        with pytest.raises(OutOfRangeError), engine.begin() as connection:
            connection.execute(table.insert(), row)
    finally:
        engine.dispose()
