"""The convex programme behind a plan: minimum variance or minimum CVaR of the hedged compute bill.

With cost[s] the unhedged bill and payoff[s, j] what one GPU of instrument j pays in scenario s, the
hedged bill of holdings x is ``H = cost - payoff @ x``. Over the N scenarios:

- **variance**: minimise (1/N) |(cost - mean) - (payoff - mean) x|^2, a least-squares problem whose
  unconstrained solution is the regression of cost on the payoffs (cov/var for one instrument);
- **CVaR** at level alpha (Rockafellar-Uryasev): minimise t + 1/((1 - alpha) N) sum_s (H_s - t)^+, a
  linear programme whose optimum is the mean of the worst (1 - alpha) share of bills.

Subject to held_j <= x_j <= depth_j (the buyer buys; it does not write, and keeps what it already
holds) and upfront . x <= budget (premium plus margin). A tie-break of ``TIE_BREAK`` times the
expected hedged bill plus an optional ``preference`` (USD per GPU, e.g. one GPU-hour at the ask:
fewer, longer contracts) picks, among holdings with (numerically) equal risk, the cheapest and
simplest: overlapping windows (a month and its days) otherwise leave the split between them
arbitrary. Solved by cvxpy with CLARABEL (an interior
point conic solver shipped as a wheel); a status other than optimal is refused rather than used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

Objective = Literal["variance", "cvar"]
TIE_BREAK = 1e-6


class PlanningError(ValueError):
    """The optimiser could not find an accurate plan (the reason says why)."""


@dataclass(frozen=True, eq=False)
class Solution:
    """Holdings per instrument (GPUs, continuous) and the solver's account of them."""

    gpus: NDArray[np.float64]
    budget_binding: bool
    solver: str
    status: str


def solve(
    cost: NDArray[np.float64],
    payoff: NDArray[np.float64],
    *,
    objective: Objective = "variance",
    alpha: float = 0.95,
    upfront: NDArray[np.float64] | None = None,
    budget: float | None = None,
    depth: NDArray[np.float64] | None = None,
    preference: NDArray[np.float64] | None = None,
    held: NDArray[np.float64] | None = None,
) -> Solution:
    """The holdings minimising the risk of ``cost - payoff @ x`` (see the module docstring); ``held``
    are lower bounds (GPUs already bought, when the rest of a hedge is re-planned)."""
    import cvxpy as cp

    n, m = payoff.shape
    scale = max(float(np.std(cost)), float(np.abs(payoff).std(axis=0).max(initial=0.0)), 1e-12)
    c = (cost - cost.mean()) / scale
    expected = -payoff.mean(axis=0) / scale  # expected extra bill per GPU (the spread, for fair asks 0)
    x = cp.Variable(m, nonneg=True)
    if objective == "variance":
        centred = (payoff - payoff.mean(axis=0)) / scale
        if n > m:  # |c - P x|^2 / n = x'(P'P/n)x - 2 (P'c/n)'x + c'c/n: an m x m problem, not n rows
            gram = centred.T @ centred / n
            risk = cp.quad_form(x, cp.psd_wrap((gram + gram.T) / 2)) - 2 * (centred.T @ c / n) @ x + c @ c / n
        else:
            risk = cp.sum_squares(c - centred @ x) / n
    else:  # the bill itself (less a constant), so the expected cost of the hedge counts in its tail
        t = cp.Variable()
        risk = t + cp.sum(cp.pos(c - payoff / scale @ x - t)) / ((1.0 - alpha) * n)
    constraints = []
    if depth is not None:
        finite = np.isfinite(depth)
        if finite.any():
            constraints.append(x[np.flatnonzero(finite)] <= depth[finite])
    if held is not None and np.any(held > 0):
        constraints.append(x >= held)
    budget_row = None
    if budget is not None and upfront is not None and np.any(upfront > 0):
        budget_row = upfront @ x <= budget
        constraints.append(budget_row)
    nudge = (np.zeros(m) if preference is None else preference / scale) + expected
    problem = cp.Problem(cp.Minimize(risk + TIE_BREAK * (nudge @ x)), constraints)
    try:
        problem.solve(solver=cp.CLARABEL)
    except cp.SolverError as exc:
        raise PlanningError(f"the solver failed: {exc}") from None
    if problem.status != cp.OPTIMAL or x.value is None:
        raise PlanningError(f"the solver ended with status {problem.status!r}; no plan is given")
    gpus = np.maximum(np.asarray(x.value, dtype=float), 0.0)
    binding = bool(
        budget_row is not None
        and upfront is not None
        and budget is not None
        and float(upfront @ gpus) >= budget * (1.0 - 1e-6) - 1e-9
    )
    return Solution(gpus, binding, "CLARABEL", str(problem.status))


def whole_gpus(
    gpus: NDArray[np.float64],
    upfront: NDArray[np.float64],
    budget: float | None,
    depth: NDArray[np.float64] | None = None,
    held: NDArray[np.int64] | None = None,
) -> NDArray[np.int64]:
    """Round holdings to whole GPUs (the exchange trades lots of one GPU) without breaking the budget
    or the depth, nor going below ``held``: round to nearest, then take back the largest round-ups until
    the budget holds."""
    least = np.zeros(gpus.size, dtype=np.int64) if held is None else held
    whole = np.maximum(np.rint(gpus).astype(np.int64), least)
    if depth is not None:
        limit = np.where(np.isfinite(depth), np.floor(np.nan_to_num(depth, posinf=0.0)), np.inf)
        whole = np.where(whole > limit, np.maximum(limit, least), whole).astype(np.int64)
    if budget is None:
        return whole
    order = np.argsort(-(whole - gpus))
    for j in order:
        if float(upfront @ whole) <= budget:
            break
        while whole[j] > np.floor(gpus[j]) and float(upfront @ whole) > budget:
            whole[j] -= 1
    while float(upfront @ whole) > budget and np.any((whole > least) & (upfront > 0)):
        j = int(np.argmax(np.where(whole > least, upfront, -1.0)))
        whole[j] -= 1
    return whole
