"""Running the pricing library's parallel work on Dask: a local cluster or an existing scheduler.

``dask_client(scheduler)`` opens a ``dask.distributed.Client``: on the scheduler at ``scheduler`` (a
``tcp://host:8786`` address) or, for ``"local"``, on a ``LocalCluster`` of one single-threaded worker
process per core (the work is NumPy on small arrays, where processes beat threads held by the GIL).
``map_ordered`` runs a function over tasks on that client, with the large argument every task shares
scattered once to the workers (so it travels once, not once per task), results in task order, and an
optional progress bar on stderr that advances as tasks finish.

Results do not depend on where a task runs: every task carries its own seed (a pricing request its
``seed``, a backtest origin ``[seed, origin index, model index]``), so the Dask path returns what the
single-process path does for the same seeds (docs/scaling.md). Dask is imported only when used, so
``import pricing`` stays light.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from distributed import Client

SCHEDULER_ENV = "FLOPEX_DASK_SCHEDULER"
"""Environment variable naming the default scheduler: ``local`` or ``tcp://host:8786``."""

LOCAL = "local"

T = TypeVar("T")
R = TypeVar("R")


def scheduler_from_env(scheduler: str | None) -> str | None:
    """The scheduler asked for: ``scheduler`` if given, else ``$FLOPEX_DASK_SCHEDULER``, else None."""
    chosen = scheduler or os.environ.get(SCHEDULER_ENV, "").strip() or None
    if chosen is not None and chosen != LOCAL and "://" not in chosen:
        raise ValueError(f"scheduler: give 'local' or an address like tcp://host:8786, got {chosen!r}")
    return chosen


@contextmanager
def dask_client(scheduler: str = LOCAL, workers: int | None = None) -> Iterator[Client]:
    """A Dask client on ``scheduler`` (an address), or on a new local cluster for ``"local"``.

    The local cluster has ``workers`` processes (default: one per core) of one thread each, and is
    closed on exit; a client on an existing scheduler is closed, the scheduler left running.
    """
    from distributed import Client, LocalCluster

    if scheduler != LOCAL:
        with Client(scheduler) as client:
            yield client
        return
    n_workers = workers or os.cpu_count() or 1
    with (
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port: a second cluster on the machine must not clash
            silence_logs=logging.ERROR,  # workers stopped at close are expected, not warnings
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


@contextmanager
def compute_on(
    scheduler: str | None = None, client: Client | None = None, workers: int | None = None
) -> Iterator[Client | None]:
    """The client to run on: ``client`` if given, else one opened on ``scheduler`` for the duration,
    else None (the caller's own process pool). ``$FLOPEX_DASK_SCHEDULER`` stands in for a missing
    ``scheduler`` only when ``workers`` is not given either: a caller that sizes its own pool (a
    market refreshing a forecast with ``workers=1``) keeps it."""
    if client is not None:
        yield client
        return
    chosen = scheduler_from_env(scheduler) if scheduler or workers is None else None
    if chosen is None:
        yield None
        return
    with dask_client(chosen, workers) as opened:
        yield opened


def _call_with_shared(task: Any, fn: Callable[..., R], shared: Any) -> R:
    return fn(shared, task)


def map_ordered(
    client: Client,
    fn: Callable[..., R],
    tasks: Sequence[T],
    *,
    shared: Any = None,
    progress: bool | None = None,
    advance: Callable[[int], Any] | None = None,
    label: str = "tasks",
) -> list[R]:
    """``[fn(task) for task in tasks]`` on the cluster, or ``fn(shared, task)`` when ``shared`` is given.

    ``shared`` is scattered to the workers once (broadcast) and every task receives the worker's
    copy; pass a future from ``client.scatter`` to share one scatter across several maps.
    ``progress`` shows a bar on stderr that advances as tasks complete (default: only when stderr
    is a terminal); ``advance``, when given, is called with 1 as each task completes instead (the
    caller's own bar). The first task error is raised here, with its original type.
    """
    from distributed import Future, as_completed

    if shared is None:
        futures = client.map(fn, tasks, pure=False)
    else:
        # hash=False: a fresh key, so releasing an earlier scatter of equal data cannot drop this one.
        fresh = not isinstance(shared, Future)
        handle = client.scatter([shared], broadcast=True, hash=False)[0] if fresh else shared
        futures = client.map(_call_with_shared, tasks, fn=fn, shared=handle, pure=False)
    if advance is not None:
        for _ in as_completed(futures):
            advance(1)
        return client.gather(futures)
    show = sys.stderr.isatty() if progress is None else progress
    if show and futures:
        import click

        with click.progressbar(length=len(futures), label=label, file=sys.stderr) as bar:
            for _ in as_completed(futures):
                bar.update(1)
    return client.gather(futures)


def run_tasks(
    fn: Callable[[Any, T], R],
    tasks: Sequence[T],
    shared: Any,
    *,
    scheduler: str | None = None,
    client: Client | None = None,
    workers: int | None = None,
    advance: Callable[[int], Any] | None = None,
    label: str = "tasks",
) -> list[R]:
    """``[fn(shared, task) for task in tasks]``: in this process, or on Dask when :func:`compute_on`
    opens a client (then ``shared`` is scattered once, see :func:`map_ordered`). ``advance`` is called
    with 1 as each task finishes, on either path."""
    with compute_on(scheduler, client, workers) as dask:
        if dask is not None:
            return map_ordered(dask, fn, tasks, shared=shared, advance=advance, label=label)
        results = []
        for task in tasks:
            results.append(fn(shared, task))
            if advance is not None:
                advance(1)
        return results
