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
arbitrary. The variance is solved by cvxpy with CLARABEL (an interior point conic solver shipped as
a wheel), the CVaR linear programme by HiGHS (scipy's LP solver) from arrays; a status other than
optimal is refused rather than used.
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
class Box:
    """The feasible holdings: ``lower <= x <= upper`` and, when ``row`` is given, ``row . x <= budget``."""

    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    row: NDArray[np.float64] | None
    budget: float


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
    m = payoff.shape[1]
    scale = max(float(np.std(cost)), float(np.abs(payoff).std(axis=0).max(initial=0.0)), 1e-12)
    c = (cost - cost.mean()) / scale
    expected = -payoff.mean(axis=0) / scale  # expected extra bill per GPU (the spread, for fair asks 0)
    nudge = TIE_BREAK * ((np.zeros(m) if preference is None else preference / scale) + expected)
    row = upfront if budget is not None and upfront is not None and np.any(upfront > 0) else None
    box = Box(
        np.zeros(m) if held is None else np.asarray(held, dtype=float),
        np.full(m, np.inf) if depth is None else np.asarray(depth, dtype=float),
        row,
        np.inf if budget is None else float(budget),
    )
    if objective == "variance":
        gpus, solver, status = _least_variance(c, (payoff - payoff.mean(axis=0)) / scale, nudge, box)
    else:  # the bill itself (less a constant), so the expected cost of the hedge counts in its tail
        gpus, solver, status = _least_cvar(c, payoff / scale, alpha, nudge, box)
    gpus = np.maximum(gpus, 0.0)
    binding = bool(row is not None and float(row @ gpus) >= box.budget * (1.0 - 1e-6) - 1e-9)
    return Solution(gpus, binding, solver, status)


def _least_variance(
    c: NDArray[np.float64],
    centred: NDArray[np.float64],
    nudge: NDArray[np.float64],
    box: Box,
) -> tuple[NDArray[np.float64], str, str]:
    """min |c - P x|^2 / n + nudge x over the ``box``: a quadratic programme (CLARABEL)."""
    import cvxpy as cp

    n, m = centred.shape
    x = cp.Variable(m, nonneg=True)
    if n > m:  # |c - P x|^2 / n = x'(P'P/n)x - 2 (P'c/n)'x + c'c/n: an m x m problem, not n rows
        gram = centred.T @ centred / n
        risk = cp.quad_form(x, cp.psd_wrap((gram + gram.T) / 2)) - 2 * (centred.T @ c / n) @ x + c @ c / n
    else:
        risk = cp.sum_squares(c - centred @ x) / n
    constraints = []
    finite = np.isfinite(box.upper)
    if finite.any():
        constraints.append(x[np.flatnonzero(finite)] <= box.upper[finite])
    if np.any(box.lower > 0):
        constraints.append(x >= box.lower)
    if box.row is not None:
        constraints.append(box.row @ x <= box.budget)
    problem = cp.Problem(cp.Minimize(risk + nudge @ x), constraints)
    try:
        problem.solve(solver=cp.CLARABEL)
    except cp.SolverError as exc:
        raise PlanningError(f"the solver failed: {exc}") from None
    if problem.status != cp.OPTIMAL or x.value is None:
        raise PlanningError(f"the solver ended with status {problem.status!r}; no plan is given")
    return np.asarray(x.value, dtype=float), "CLARABEL", str(problem.status)


def _least_cvar(
    c: NDArray[np.float64],
    pay: NDArray[np.float64],
    alpha: float,
    nudge: NDArray[np.float64],
    box: Box,
) -> tuple[NDArray[np.float64], str, str]:
    """The Rockafellar-Uryasev linear programme over (x, t, u), built as arrays and solved by HiGHS:

        min  t + sum(u) / ((1 - alpha) n) + nudge x
        s.t. -P x - t - u <= -c      (u_s >= c_s - P_s x - t: the excess of bill s over t)
             [row x <= budget],  lower <= x <= upper  (the box),  u >= 0,  t free.

    Only the n x m payoff block is dense; the -1 column and the -I block are given sparse. HiGHS' dual
    simplex solves the 2,000 x 436 programme of a 3-month, 4-product plan in seconds where an interior
    point conic solver (CLARABEL, through cvxpy's ``pos`` atoms) took minutes: each of its iterations
    factorises the KKT system, which the dense block fills in.
    """
    from scipy import sparse
    from scipy.optimize import linprog

    n, m = pay.shape
    objective = np.concatenate([nudge, [1.0], np.full(n, 1.0 / ((1.0 - alpha) * n))])
    excess = sparse.hstack(
        [sparse.csr_matrix(-pay), sparse.csr_matrix(-np.ones((n, 1))), -sparse.identity(n, format="csr")],
        format="csr",
    )
    rows, bounds_b = [excess], [-c]
    if box.row is not None:
        rows.append(sparse.csr_matrix(np.concatenate([box.row, np.zeros(n + 1)])[None, :]))
        bounds_b.append(np.array([box.budget]))
    bounds = np.column_stack(
        [
            np.concatenate([box.lower, [-np.inf], np.zeros(n)]),
            np.concatenate([box.upper, [np.inf], np.full(n, np.inf)]),
        ]
    )
    result = linprog(
        objective,
        A_ub=sparse.vstack(rows, format="csr"),
        b_ub=np.concatenate(bounds_b),
        bounds=bounds,
        method="highs",
    )
    if result.status != 0 or result.x is None:
        raise PlanningError(
            f"the solver ended with status {result.status} ({result.message}); no plan is given"
        )
    return np.asarray(result.x[:m], dtype=float), "HiGHS", "optimal"


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
