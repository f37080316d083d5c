"""Pricing many requests over worker processes.

Workers are started with the ``spawn`` method: forking a process that runs threads (a Litestar
worker, an event loop, BLAS pools) can deadlock the child, while a spawned worker starts clean.
Every request is validated in the caller first, so a bad one fails fast, before any process is
started, with its index in the path (``[3].instrument.strike``). As with any spawned pool, a script that
calls ``price_many`` at top level needs the usual ``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from pricing.dispatch import price, price_request
from pricing.distributed import compute_on, map_ordered
from pricing.request import PricingRequest, RequestError, parse_request

if TYPE_CHECKING:
    from distributed import Client


def _parse_all(requests: list[dict[str, Any]]) -> list[PricingRequest]:
    if not isinstance(requests, list):
        raise RequestError("requests", "must be a list of pricing requests")
    parsed = []
    for i, request in enumerate(requests):
        try:
            parsed.append(parse_request(request))
        except RequestError as error:
            raise RequestError(f"[{i}].{error.path}", error.reason) from None
    return parsed


def price_many(
    requests: list[dict[str, Any]],
    max_workers: int | None = None,
    *,
    scheduler: str | None = None,
    client: Client | None = None,
    progress: bool | None = None,
) -> list[dict[str, Any]]:
    """Value each request (as ``price`` would), spreading them over up to ``max_workers`` processes.

    Results are in request order. A single request, or ``max_workers=1``, runs in this process.
    With a Dask ``client``, or a ``scheduler`` (``"local"`` or ``tcp://host:8786``; default
    ``$FLOPEX_DASK_SCHEDULER``), each request is one Dask task instead (:mod:`pricing.distributed`);
    every request carries its own seed, so the results are the same. ``progress`` shows a bar on
    stderr for the Dask path (default: only on a terminal).
    """
    parsed = _parse_all(requests)
    with compute_on(scheduler, client, max_workers) as dask:
        if dask is not None:
            return map_ordered(dask, price, requests, progress=progress, label="pricing requests")
    workers = min(max_workers or os.cpu_count() or 1, len(parsed))
    if workers <= 1:
        return [price_request(p) for p in parsed]
    import multiprocessing  # imported here: ``import pricing`` must stay light
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return list(pool.map(price, requests))
