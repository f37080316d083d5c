"""Pricing on behalf of HTTP clients: costed up front, isolated in processes, fairly queued, cancellable.

One tenant must not be able to tie the pricing service up, so ``POST /v1/price`` goes through three
gates before any number is computed:

1. **Cost.** :func:`estimate` counts the simulated path points a request will need, *before* it runs:
   paths x time points (the payoff's dates plus any ``steps_per_year`` refinement over the horizon) x
   valuations (8 with Greeks: the value and seven bumped revaluations; x2 for LSM's regression pass).
   Closed forms cost nothing. A request above the ceiling (``FLOPEX_PRICE_MAX_COST``) is refused
   outright (``422 too_expensive``), whatever the key's budget.
2. **Budget.** The estimate, converted at :data:`NOMINAL_RATE` path points per second, is charged to
   the key's compute bucket (``FLOPEX_PRICE_BUDGET`` seconds per minute) *before* the request runs; a
   key whose bucket cannot cover it gets ``429`` with ``Retry-After``. When the request ends, the
   charge is settled against the seconds it really took.
3. **Fair queue.** Monte Carlo and LSM run in a pool of ``FLOPEX_PRICE_WORKERS`` worker processes. A
   freed worker serves the least recently served waiting key, one key never holds more than ``workers - 1`` of
   them (so with two workers another key always finds a free one or the next one freed), and a key
   may have at most :data:`MAX_QUEUED_PER_KEY` requests waiting.

A request that outlives its deadline (``FLOPEX_PRICE_TIMEOUT`` seconds, queueing included) or whose
client disconnects is cancelled for real: its worker process is killed (SIGKILL) and replaced, so no
abandoned computation keeps a core busy. Requests that need no simulation (closed forms, cost below
:data:`INLINE_COST`) run in a thread of the server: they finish in milliseconds and never queue behind
heavy ones.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import multiprocessing.process
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

import anyio
import numpy as np

import pricing
from api.errors import ApiError
from pricing.dispatch import resolve_method, schedule
from pricing.request import PricingRequest, RequestError, parse_request

logger = logging.getLogger("flopex.api.pricing")

NOMINAL_RATE = 5e6
"""Simulated path points per second one core manages on the reference machine (measured on the MC
Asian of docs/pricing.md: 2-7 million a second); converts a cost estimate into budget seconds."""
INLINE_COST = 200_000
"""Estimates up to this many path points (~40 ms) run in a server thread instead of a worker."""
MAX_QUEUED_PER_KEY = 4
GREEK_VALUATIONS = 8
"""The base value plus the seven bumped revaluations of ``pricing.greeks`` (delta, vega, rho: two
each; theta: one)."""


@dataclass(frozen=True)
class Cost:
    """What a validated request will cost: simulated path points (0 for closed forms)."""

    request: PricingRequest
    path_points: int

    @property
    def seconds(self) -> float:
        """The estimate in budget seconds at :data:`NOMINAL_RATE`."""
        return self.path_points / NOMINAL_RATE


def estimate(data: dict[str, Any]) -> Cost:
    """Validate ``data`` (``RequestError`` naming the field) and estimate its cost."""
    request = parse_request(data)
    method = resolve_method(request)
    if method == "analytic":
        return Cost(request, 0)
    times = schedule(request.instrument)
    points = max(1, len(times))
    if request.mc.steps_per_year is not None:
        points += int(request.mc.steps_per_year * max(times, default=0.0)) + 1
    valuations = GREEK_VALUATIONS if request.greeks else 1
    if method == "lsm":
        valuations *= 2
    return Cost(request, request.mc.paths * points * valuations)


Outcome = tuple[str, Any, Any]
"""``("ok", result, None)``, ``("invalid", (field, code, status), message)`` (a ``RequestError``:
400, or 422 ``not_computable`` for a valid request that cannot be valued accurately) or
``("failed", error type, message)``."""


def attempt(data: dict[str, Any]) -> Outcome:
    """Price ``data`` in the calling thread; every failure becomes an outcome, not an exception."""
    try:
        return ("ok", _plain(pricing.price(data)), None)
    except RequestError as exc:
        status = 422 if isinstance(exc, pricing.NotComputableError) else 400
        return ("invalid", (exc.path, exc.code, status), str(exc))
    except Exception as exc:  # reported to the server, which answers 422 and logs it
        return ("failed", type(exc).__name__, str(exc))


def _plain(value: Any) -> Any:
    """The result with NumPy scalars as Python numbers (the API's structs take exact types)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _serve(connection: multiprocessing.connection.Connection) -> None:
    """A worker process: price requests from ``connection`` until the server closes it."""
    while True:
        try:
            data = connection.recv()
        except (EOFError, OSError):
            return
        connection.send(attempt(data))


class _Worker:
    """One worker process and the server's end of its pipe."""

    def __init__(self, context: multiprocessing.context.BaseContext) -> None:
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child,), daemon=True, name="flopex-pricing")
        self.process.start()
        child.close()

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.connection.close()


def _receive(worker: _Worker) -> Outcome | None:
    """The worker's outcome; None if the worker died (killed from outside, out of memory)."""
    try:
        return worker.connection.recv()
    except (EOFError, OSError):
        return None


class PricingPool:
    """Worker processes that value pricing requests, shared fairly between keys (see the module)."""

    def __init__(self, workers: int, timeout: float) -> None:
        if workers < 1 or timeout <= 0:
            raise ValueError("need at least one worker and a positive timeout")
        self.workers = workers
        self.timeout = timeout
        self.per_key = max(1, workers - 1)
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["pricing"])
        self._idle: list[_Worker] = []
        self._running: Counter[str] = Counter()
        self._busy = 0
        self._waiting: dict[str, deque[anyio.Event]] = {}
        self._served: dict[str, int] = {}
        self._grants = 0

    # -- fair admission --------------------------------------------------------------------------

    def _dispatch(self) -> None:
        """Hand free workers to waiting keys within their share, least recently served key first
        (keys never served, or not since they last went idle, in order of arrival)."""
        turns = sorted(self._waiting, key=lambda k: self._served.get(k, -1))
        for key in turns:
            if self._busy >= self.workers:
                return
            if self._running[key] >= self.per_key:
                continue
            queue = self._waiting[key]
            queue.popleft().set()
            self._busy += 1
            self._running[key] += 1
            self._grants += 1
            self._served[key] = self._grants
            if not queue:
                del self._waiting[key]

    def _release(self, key: str) -> None:
        self._busy -= 1
        self._running[key] -= 1
        if not self._running[key]:
            del self._running[key]
            if key not in self._waiting:
                self._served.pop(key, None)
        self._dispatch()

    async def _acquire(self, key: str) -> None:
        queue = self._waiting.get(key)
        if queue is not None and len(queue) >= MAX_QUEUED_PER_KEY:
            raise ApiError(
                "rate_limited",
                f"at most {MAX_QUEUED_PER_KEY} pricing requests of one key may wait; retry later",
                status=429,
                headers={"Retry-After": "1"},
            )
        granted = anyio.Event()
        if queue is None:
            queue = self._waiting[key] = deque()
        queue.append(granted)
        self._dispatch()
        try:
            await granted.wait()
        except BaseException:
            if granted.is_set():
                self._release(key)
            else:
                queue.remove(granted)
                if not queue:
                    del self._waiting[key]
                    if not self._running[key]:
                        self._served.pop(key, None)
            raise

    # -- execution -------------------------------------------------------------------------------

    async def _execute(self, data: dict[str, Any]) -> Outcome:
        worker = self._idle.pop() if self._idle else await anyio.to_thread.run_sync(_Worker, self._context)
        try:
            worker.connection.send(data)
            outcome = await anyio.to_thread.run_sync(_receive, worker, abandon_on_cancel=True)
        except BaseException:
            worker.kill()  # cancelled (deadline, disconnect) or broken: stop the computation for real
            raise
        if outcome is None:
            worker.kill()
            return ("failed", "WorkerDied", "the pricing worker stopped")
        self._idle.append(worker)
        return outcome

    async def run(self, key: str, data: dict[str, Any]) -> dict[str, Any]:
        """The result of ``pricing.price(data)`` computed in a worker, or an :class:`ApiError`."""
        with anyio.move_on_after(self.timeout) as deadline:
            await self._acquire(key)
            try:
                outcome = await self._execute(data)
            finally:
                self._release(key)
        if deadline.cancelled_caught:
            raise ApiError(
                "pricing_timeout",
                f"pricing took longer than {self.timeout:g} s and was stopped; ask for fewer paths",
                status=503,
                headers={"Retry-After": "1"},
            )
        return unpack(outcome)

    def close(self) -> None:
        """Stop every idle worker (running ones are stopped by their requests' cancellation)."""
        while self._idle:
            self._idle.pop().kill()


def unpack(outcome: Outcome) -> dict[str, Any]:
    """A worker's outcome as the result, or the problem it amounts to."""
    status, first, second = outcome
    if status == "ok":
        return first
    if status == "invalid":
        field, code, http_status = first
        raise ApiError(code, second, field=field, status=http_status)
    logger.error("pricing failed: %s: %s", first, second)
    raise ApiError("pricing_failed", f"the request could not be valued ({first}: {second})", status=422)
