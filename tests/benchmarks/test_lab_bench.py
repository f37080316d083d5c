"""Benchmarks of the stress lab (issue 16): commands per second through the engine during a scenario,
against the engine's own benchmark stream in the same process, and a sweep on a local Dask cluster
of two workers against one.

Only ratios are asserted, with floors far below what a quiet machine shows (the two cores are shared
by several test suites). A lab run is mostly the clearing house: the hourly passes revalue every
account's book under the scan's 16 scenarios and the three stress scenarios (Cover 1), so the ratio
of lab commands per second to the bare engine's is small by design; the share of the run's time the
engine itself takes is printed beside it.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import time

import pytest
from distributed import Client, LocalCluster

from market.engine import MatchingEngine
from market.lab import scenario, simulation, sweep
from tests.benchmarks.test_engine_bench import build, order_flow, run_engine

SHORT = {"hours": 16, "shock": {"at_hour": 4}}


def test_lab_commands_per_second_against_the_engine(benchmark: pytest.FixtureRequest) -> None:
    chosen = scenario.named("generation-shock").with_changes(SHORT)
    engine_time = [0.0]
    original = MatchingEngine.apply

    def timed(self: MatchingEngine, command: dict) -> list[dict]:
        start = time.perf_counter()
        try:
            return original(self, command)
        finally:
            engine_time[0] += time.perf_counter() - start

    MatchingEngine.apply = timed  # type: ignore[method-assign]
    try:
        run = benchmark.pedantic(simulation.run, args=(chosen, 1), rounds=1, iterations=1)
    finally:
        MatchingEngine.apply = original  # type: ignore[method-assign]
    setup, stream = order_flow(2_000, 20_000)
    engine = run_engine(build(setup), stream)
    lab_rate = run.commands / run.seconds
    figures = {
        "lab_commands": run.commands,
        "lab_seconds": round(run.seconds, 2),
        "lab_commands_per_s": round(lab_rate),
        "engine_benchmark_commands_per_s": engine["commands_per_s"],
        "ratio": round(lab_rate / engine["commands_per_s"], 4),
        "engine_share_of_lab_time": round(engine_time[0] / run.seconds, 3),
    }
    benchmark.extra_info.update(figures)
    print(f"\nlab benchmark: {figures}")
    assert figures["ratio"] > 0.002, figures


def _comparable(result: dict[str, float]) -> str:
    """A run's measures without its timing, as JSON."""
    return json.dumps({k: v for k, v in result.items() if k != "commands_per_s"}, sort_keys=True)


def _warm(client: Client) -> None:
    client.run(importlib.import_module, "market.lab.sweep")


def test_sweep_two_workers_against_one(benchmark: pytest.FixtureRequest) -> None:
    chosen = scenario.named("generation-shock").with_changes(SHORT)
    tasks = [
        sweep.Task(dataclasses.replace(chosen), seed, feedback, "bench")
        for seed in (1, 2, 3)
        for feedback in (True, False)
    ]
    walls, results = {}, {}
    for n in (1, 2):
        with (
            LocalCluster(n_workers=n, threads_per_worker=1, dashboard_address=":0") as cluster,
            Client(cluster) as client,
        ):
            _warm(client)
            start = time.perf_counter()
            if n == 2:
                results[n] = benchmark.pedantic(sweep.run_tasks, args=(tasks,), kwargs={"client": client},
                                                rounds=1, iterations=1)  # fmt: skip
            else:
                results[n] = sweep.run_tasks(tasks, client=client)
            walls[n] = time.perf_counter() - start
    serial = sweep.run_tasks(tasks)
    for n in (1, 2):  # equal to the single-process run (as JSON: a control has NaN margins, NaN != NaN)
        assert [_comparable(r) for r in results[n]] == [_comparable(r) for r in serial]
    figures = {
        "tasks": len(tasks),
        "wall_one_worker_s": round(walls[1], 2),
        "wall_two_workers_s": round(walls[2], 2),
        "speedup": round(walls[1] / walls[2], 2),
    }
    benchmark.extra_info.update(figures)
    print(f"\nlab sweep on dask: {figures}")
    assert figures["speedup"] >= 0.7, figures
