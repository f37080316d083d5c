"""``POST /v1/stress``: a stress-lab run (a scenario and its control) over HTTP, costed and bounded.

A run's cost is counted before it starts, in agent-steps (agents x steps, twice: the run and its
control). A run above :data:`MAX_AGENT_STEPS` is refused (``422 too_expensive``: sweeps and long
runs belong to ``flopex stress``, on Dask); the estimate, converted at :data:`AGENT_STEPS_PER_SECOND`,
is charged to the caller's pricing compute budget first (``429`` when it cannot cover it) and
settled against the time the run really took, as ``POST /v1/price`` does. The run happens in a worker
process (the simulation holds the interpreter while it runs; the server's event loop must not wait
on it), which is stopped if the client goes away.
"""

from __future__ import annotations

import math
import time
from typing import Any

import anyio
from litestar import Request, post
from litestar.params import JSONBody

from api.auth import BEARER_SECURITY, authenticated
from api.context import Ctx
from api.errors import ApiError
from api.openapi import PRIVATE, problems
from api.ratelimit import client_id, compute_budget
from api.schemas.stress import StressRequest, StressResult

MAX_AGENT_STEPS = 60_000
"""The largest run one request may ask for (the shipped scenarios need 11,000-15,000 x 2)."""
AGENT_STEPS_PER_SECOND = 3_000.0
"""Agent-steps a second one core manages (measured on generation-shock: feedback and control)."""


def _run(request: StressRequest) -> StressResult:
    from market.lab import measures, simulation

    started = time.perf_counter()
    chosen = _scenario(request)
    run = simulation.run(chosen, request.seed)
    control = simulation.run(chosen, request.seed, feedback=False)
    metrics = {k: (v if math.isfinite(v) else None) for k, v in measures.metrics(run, control).items()}
    return StressResult(
        chosen.name,
        request.seed,
        chosen.steps,
        agents(chosen),
        metrics,
        (time.perf_counter() - started) * 1e3,
    )


def agents(scenario: Any) -> int:
    """How many agents act at every step."""
    p = scenario.population
    basket = p.basket_holders + p.aps if p.basket_units else 0
    return p.market_makers + p.leveraged_longs + p.leveraged_shorts + p.hedgers + p.providers + basket + 1


def _scenario(request: StressRequest) -> Any:
    from market.lab import scenario as scenarios

    try:
        return scenarios.from_dict({**request.changes, "base": request.scenario})
    except ValueError as exc:
        raise ApiError("invalid_request", str(exc), field="changes") from None


@post(
    "/v1/stress",
    tags=["pricing"],
    summary="Run a stress-lab scenario",
    guards=[authenticated],
    security=BEARER_SECURITY,
    responses=problems(*PRIVATE, 422),
    status_code=200,
)
async def stress(request: Request[Any, Any, Any], ctx: Ctx, data: JSONBody[StressRequest]) -> StressResult:
    """Run a shipped scenario (with optional changes) for one seed against its control and return the
    metrics (amplification, drawdowns, forced liquidation, margin calls, default-fund use, basket
    premium and redemptions). Invalid changes are a 400; a run over the size ceiling a 422
    (``too_expensive``); a key over its compute budget a 429."""
    chosen = _scenario(data)
    cost = 2 * agents(chosen) * chosen.steps
    if cost > MAX_AGENT_STEPS:
        raise ApiError(
            "too_expensive",
            f"this run needs {cost:,} agent-steps, more than the {MAX_AGENT_STEPS:,} one request may use; "
            "shorten it or use `flopex stress`",
            field="changes",
            status=422,
        )
    with compute_budget(ctx.price_budget, client_id(request.scope), cost / AGENT_STEPS_PER_SECOND):
        return await anyio.to_process.run_sync(_run, data, cancellable=True)
