"""What the database-held rate-limit buckets cost order entry over HTTP on PostgreSQL.

On PostgreSQL every request of a rate-limited key spends a token of its bucket in the database
(``api.shared_state.SharedBuckets``: one short transaction, the row locked), so that several
``flopex serve`` processes share one budget. The same crossing order stream as the HTTP benchmark
(``test_http_bench``) is placed over HTTP to one ``flopex serve`` on one PostgreSQL database, half
with the rate limit off and half with it on (a budget too large to refuse anything), in the same run;
the ratio limited / unlimited is the price of the shared bucket. Only the ratio is asserted (a floor
that guards against the bucket becoming the bottleneck); absolute rates on a shared machine say little.

Two exchange *shards* against one writer: ``test_shards_bench`` (see docs/scaling.md).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.api.live_server import serving
from tests.benchmarks.test_http_bench import Setup, _closed_loop, _prepare, _requests

FLOOR = 0.5
ORDERS = 400

pytestmark = [pytest.mark.postgres, pytest.mark.slow]  # two servers start: about 2 min here


def _rate(url: str, setup: Setup, env: dict[str, str]) -> tuple[float, set[int]]:
    with serving(url, env=env) as (client, _):
        rate, _, statuses = asyncio.run(_closed_loop(client.base_url.port, _requests(setup)))
    return rate, set(statuses)


def test_shared_buckets_cost_order_entry(postgres_url: str, benchmark: Any) -> None:
    whole = _prepare(postgres_url, 2 * ORDERS)
    halves = [Setup(whole.symbol, whole.tick_micros, whole.keys, whole.stream[i::2]) for i in (0, 1)]
    measured: dict[str, float] = {}

    def run() -> None:
        measured["off"], off = _rate(postgres_url, halves[0], {"FLOPEX_RATE_LIMIT": "0"})
        limited = {"FLOPEX_RATE_LIMIT": "1000000", "FLOPEX_RATE_BURST": "1000000"}
        measured["on"], on = _rate(postgres_url, halves[1], limited)
        assert off | on <= {201}, "every order must be accepted"

    benchmark.pedantic(run, rounds=1, iterations=1)
    ratio = measured["on"] / measured["off"]
    figures = {
        "orders_each": ORDERS,
        "unlimited_orders_per_s": round(measured["off"]),
        "shared_bucket_orders_per_s": round(measured["on"]),
        "ratio_shared_bucket_over_unlimited": round(ratio, 3),
    }
    benchmark.extra_info.update(figures)
    print("\nshared rate-limit buckets:", figures)
    assert ratio >= FLOOR, figures
