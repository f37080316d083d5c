"""Durable order throughput of the exchange service, against the database's own limit.

The service places a seeded stream of crossing buy and sell orders on a physical forward in groups of
``GROUP`` orders per transaction (validation, holds, matching, command log, orders, trades, ledger
transfers, positions and inventory, committed before the acknowledgement). Every order of a group is
acknowledged when its group commits, so its acknowledgement latency is the group's wall time.

The baseline, measured in the same run on the same database, writes exactly the rows the service
wrote -- read back per group and inserted again (with fresh keys) with the same grouping and the same
kinds of statements: the command log, orders and the makers' updates, trades, transfers and entries,
the balance, position, inventory and per-day capacity updates, one commit per group. Only the ratio
service / baseline is asserted, with a floor well below the 0.5 target because the machine is shared.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from market.records import OrderRequest
from market.service import Exchange
from market.tables import Balance, Capacity, Command, Entry, Inventory, Order, Position, Trade, Transfer
from market.units import to_epoch_us

GROUP = 50
FLOOR = 0.25


SETUP = datetime(2026, 11, 24, 12, tzinfo=UTC)


def _market(engine: sa.Engine) -> tuple[Exchange, str, str, str]:
    ex = Exchange(engine, clock=lambda: SETUP)
    ex.start()
    ex.create_product("H100")
    symbol = ex.create_series("H100", months=1, weeks=0, days=0)[0]
    provider = ex.create_account("bench-provider", ["provider"]).account.id
    buyer = ex.create_account("bench-buyer", ["trader"]).account.id
    ex.create_listing(provider, "H100", 10**7, symbol.window_start, symbol.window_end)
    ex.deposit(buyer, 10**16, "seed")
    return ex, symbol.symbol, provider, buyer


def _stream(n: int, symbol: str, provider: str, buyer: str) -> list[tuple[str, OrderRequest]]:
    rng = random.Random(5)
    stream = []
    for i in range(n):
        side = "buy" if rng.random() < 0.5 else "sell"
        request = OrderRequest(symbol, side, rng.randint(1, 5), price_ticks=1500 + rng.randint(-5, 5))
        stream.append((buyer if side == "buy" else provider, request))
        del i
    return stream


def _rows(connection: sa.Connection, table: sa.Table, where: sa.ColumnElement) -> list[dict]:
    return [dict(r._mapping) for r in connection.execute(sa.select(table).where(where))]


def _fresh(row: dict, **changes: object) -> dict:
    return {**{k: v for k, v in row.items() if k != "id"}, **changes}


def _plan(connection: sa.Connection, stamp: int) -> dict:
    """The rows the service wrote in the transaction stamped ``stamp``."""
    transfers, entries = Transfer.__table__, Entry.__table__
    return {
        "commands": _rows(connection, Command.__table__, Command.__table__.c.created_us == stamp),
        "orders": _rows(connection, Order.__table__, Order.__table__.c.created_us == stamp),
        "trades": _rows(connection, Trade.__table__, Trade.__table__.c.created_us == stamp),
        "transfers": [
            (t, _rows(connection, entries, entries.c.transfer_id == t["id"]))
            for t in _rows(connection, transfers, transfers.c.created_us == stamp)
        ],
        "positions": _rows(connection, Position.__table__, sa.true()),
        "inventory": _rows(connection, Inventory.__table__, sa.true()),
        "capacity": _rows(connection, Capacity.__table__, sa.true()),
    }


def _write_again(engine: sa.Engine, plan: dict, n: int) -> float:
    """Write the rows of ``plan`` again (fresh keys) in one transaction; returns the seconds spent."""
    commands, orders, trades = Command.__table__, Order.__table__, Trade.__table__
    transfers, entries, balances = Transfer.__table__, Entry.__table__, Balance.__table__
    positions, inventory, capacity = Position.__table__, Inventory.__table__, Capacity.__table__
    suffix = f"b{n}"
    makers = {t["maker_order_id"] for t in plan["trades"]}
    began = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(commands.insert(), [_fresh(c) for c in plan["commands"]])
        connection.execute(
            orders.insert(),
            [_fresh(o, id=o["id"][:28] + suffix, client_order_id=None) for o in plan["orders"]],
        )
        if makers:
            connection.execute(
                orders.update()
                .where(orders.c.id == sa.bindparam("_id"))
                .values(updated_us=sa.bindparam("u")),
                [{"_id": m, "u": n} for m in makers],
            )
        if plan["trades"]:
            connection.execute(
                trades.insert().returning(trades.c.id, sort_by_parameter_order=True),
                [_fresh(t) for t in plan["trades"]],
            ).all()
        ids = connection.execute(
            transfers.insert().returning(transfers.c.id, sort_by_parameter_order=True),
            [_fresh(t, idempotency_key=None) for t, _ in plan["transfers"]],
        ).scalars()
        legs = [
            _fresh(e, transfer_id=new)
            for new, (_, old) in zip(ids, plan["transfers"], strict=True)
            for e in old
        ]
        connection.execute(entries.insert(), legs)
        connection.execute(
            balances.update()
            .where(balances.c.owner == sa.bindparam("o"), balances.c.bucket == sa.bindparam("b"))
            .values(amount=balances.c.amount + 0),
            [{"o": o, "b": b} for o, b in {(e["owner"], e["bucket"]) for e in legs}],
        )
        connection.execute(
            positions.update()
            .where(positions.c.account_id == sa.bindparam("a"), positions.c.symbol == sa.bindparam("s"))
            .values(qty=sa.bindparam("q")),
            [{"a": p["account_id"], "s": p["symbol"], "q": p["qty"]} for p in plan["positions"]],
        )
        connection.execute(
            inventory.update()
            .where(inventory.c.symbol == sa.bindparam("s"), inventory.c.provider_id == sa.bindparam("p"))
            .values(sold_gpus=sa.bindparam("g")),
            [{"s": i["symbol"], "p": i["provider_id"], "g": i["sold_gpus"]} for i in plan["inventory"]],
        )
        connection.execute(
            capacity.update()
            .where(
                capacity.c.provider_id == sa.bindparam("p"),
                capacity.c.product == sa.bindparam("g"),
                capacity.c.day_us == sa.bindparam("d"),
            )
            .values(committed_gpus=sa.bindparam("c")),
            [
                {"p": c["provider_id"], "g": c["product"], "d": c["day_us"], "c": c["committed_gpus"]}
                for c in plan["capacity"]
            ],
        )
    return time.perf_counter() - began


def _run(engine: sa.Engine, ex: Exchange, stream: list) -> tuple[list[float], float]:
    """Each group through the service, then its rows written again directly (interleaved, so both
    see the same load on a shared machine); returns per-order ack latencies and the baseline time."""
    latencies, baseline = [], 0.0
    for n, start in enumerate(range(0, len(stream), GROUP)):
        group = stream[start : start + GROUP]
        began = time.perf_counter()
        results = ex.place_orders(group)
        elapsed = time.perf_counter() - began
        assert not any(isinstance(r, Exception) for r in results)
        latencies.extend([elapsed] * len(group))
        with engine.connect() as connection:
            plan = _plan(connection, to_epoch_us(results[0].created_at))
        baseline += _write_again(engine, plan, n)
    return latencies, baseline


def _measure(benchmark, engine: sa.Engine, n: int, label: str) -> None:
    ex, symbol, provider, buyer = _market(engine)
    stream = _stream(n, symbol, provider, buyer)
    tick = iter(range(1, 10**9))
    ex._clock = lambda: SETUP + timedelta(seconds=next(tick))  # one time stamp per group: the baseline's key
    latencies, baseline_seconds = benchmark.pedantic(_run, args=(engine, ex, stream), rounds=1, iterations=1)
    service_seconds = sum(latencies) / GROUP
    ex.close()  # (no invariant check here: the baseline's copies are deliberately unbalanced rows)
    service_rate, baseline_rate = n / service_seconds, n / baseline_seconds
    ratio = service_rate / baseline_rate
    latencies.sort()
    p50, p99 = statistics.median(latencies), latencies[int(0.99 * (len(latencies) - 1))]
    info = {
        "orders": n,
        "group": GROUP,
        "service_orders_per_s": round(service_rate),
        "baseline_orders_per_s": round(baseline_rate),
        "ratio": round(ratio, 3),
        "ack_p50_ms": round(p50 * 1e3, 2),
        "ack_p99_ms": round(p99 * 1e3, 2),
    }
    benchmark.extra_info.update(info)
    print(f"\n{label}: {info}")
    assert ratio >= FLOOR


def test_service_durable_throughput(benchmark, db_engine: sa.Engine, db_url: str) -> None:
    _measure(benchmark, db_engine, 1000, db_url.split(":")[0])


@pytest.mark.slow
def test_service_durable_throughput_full(benchmark, db_engine: sa.Engine, db_url: str) -> None:
    _measure(benchmark, db_engine, 20_000, db_url.split(":")[0])
