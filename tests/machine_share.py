"""Benchmarks get the machine to themselves while the rest of the suite runs in parallel.

The suite runs on pytest-xdist workers (``-n 2`` in ``pyproject.toml``). A benchmark asserts a ratio
measured in its own run, and a ratio of two timings taken while another worker loads the same cores
says more about that worker than about the code. So every test holds a shared lock while it runs and a
benchmark (anything under ``tests/benchmarks/``) holds it exclusively: a benchmark waits for the other
worker's current test to finish, and that worker waits, before its next test, for the benchmark.

A plain shared/exclusive ``flock`` lets a stream of shared holders starve the exclusive one, so a
second lock acts as a turnstile: a benchmark takes it first and keeps it, and every test passes
through it before taking its shared lock. Without xdist (one process) nothing is locked.

The lock spans a test's function-scoped fixtures and body, not the other worker's module- or
session-scoped fixtures (a live server or a browser starting), nor processes a finished test left
to exit. So a benchmark also times its baseline in the same rounds as its subject, and a burst of
such load slows both sides of the ratio (tests/benchmarks/test_engine_bench.py).
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BENCHMARKS = Path(__file__).parent / "benchmarks"


def exclusive(path: Path) -> bool:
    """Whether the test in ``path`` needs the machine to itself."""
    return BENCHMARKS in path.parents


@contextmanager
def _flock(path: Path, mode: int) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, mode)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextmanager
def share(run_id: str, alone: bool) -> Iterator[None]:
    """Hold this run's machine lock for one test: shared, or exclusive when ``alone``."""
    base = Path(tempfile.gettempdir()) / f"flopex-tests-{run_id}"
    turnstile, machine = base.with_suffix(".turnstile"), base.with_suffix(".lock")
    if alone:
        with _flock(turnstile, fcntl.LOCK_EX), _flock(machine, fcntl.LOCK_EX):
            yield
    else:
        with _flock(turnstile, fcntl.LOCK_EX):
            pass
        with _flock(machine, fcntl.LOCK_SH):
            yield
