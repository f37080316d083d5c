"""The priority of payments, vectorised over paths.

Each period, on every path at once (arrays of shape (paths,)):

1. **Collections**: the pool's cash less any operating deficit carried from earlier periods (a
   negative collection is carried forward and paid first, like an unpaid senior expense).
2. **Senior fees**: ``fees.fixed`` plus ``fees.rate`` x dt on the note balance, plus unpaid fees;
   paid from collections, then from the reserve.
3. **Interest by seniority**: coupon x dt x balance plus interest deferred earlier (deferred interest
   earns none), from collections, then from the reserve. After each note's interest its tests run:
   OC (run-rate collateral value / balance of this and the senior notes) and IC (collections after
   fees / current interest due on this and the senior notes). On a breach, all cash left is
   diverted to repay those notes in order of seniority, before any junior interest.
4. **Reserve**: topped up to its target from what is left; at the final period released instead.
5. **Principal**: the notes amortise toward a target balance (``linear``: straight line to zero
   over the deal; ``bullet``: all at the final period), ``sequential`` (most senior first) or
   ``pro_rata`` (by balance; sequential on a path whose tests fail in that period).
6. **Residual** to equity.

At the final period whatever principal and interest stays unpaid is a loss (``writedown``,
``interest_shortfall``). Per path, fees + interest + principal + residual equal the pool's cash
plus the initial reserve plus the operating deficit left at the end (:func:`conservation_gap`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pricing.securitization.deal import Deal


@dataclass(frozen=True)
class Flows:
    """What the waterfall paid: arrays over (tranche,) period and path."""

    interest: NDArray[np.float64]
    """(tranches, periods, paths)."""
    principal: NDArray[np.float64]
    """(tranches, periods, paths)."""
    fees: NDArray[np.float64]
    """(periods, paths)."""
    residual: NDArray[np.float64]
    """(periods, paths): to equity."""
    reserve: NDArray[np.float64]
    """(periods, paths): the reserve balance at each period's end."""
    breach: NDArray[np.bool_]
    """(tranches, periods, paths): a test of that note failed."""
    writedown: NDArray[np.float64]
    """(tranches, paths): principal unpaid at the final period."""
    interest_shortfall: NDArray[np.float64]
    """(tranches, paths): interest still deferred at the final period."""
    deficit: NDArray[np.float64]
    """(paths,): operating deficit left unpaid at the end."""


def target_balance(deal: Deal, t: int) -> float:
    """Aggregate note balance the schedule aims for at the end of period ``t`` (0-based)."""
    spec = deal.spec
    total = sum(tranche.face for tranche in spec.tranches)
    if t >= spec.periods - 1:
        return 0.0
    if spec.amortisation == "bullet":
        return total
    return total * (1.0 - (t + 1) / spec.periods)


def _pay(
    due: NDArray[np.float64], cash: NDArray[np.float64], reserve: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Pay ``due`` from ``cash``, then from ``reserve`` (both updated in place); returns what was paid."""
    from_cash = np.minimum(due, cash)
    cash -= from_cash
    from_reserve = np.minimum(due - from_cash, reserve)
    reserve -= from_reserve
    return from_cash + from_reserve


def _sequential(balance: NDArray[np.float64], amount: NDArray[np.float64]) -> NDArray[np.float64]:
    """Repay ``balance`` rows in order from ``amount`` (both updated in place); returns the payments."""
    paid = np.empty_like(balance)
    for j in range(balance.shape[0]):
        np.minimum(balance[j], amount, out=paid[j])
        balance[j] -= paid[j]
        amount -= paid[j]
    return paid


def run(deal: Deal, cash: NDArray[np.float64], collateral: NDArray[np.float64]) -> Flows:
    """The waterfall on the pool's ``cash`` and ``collateral`` value, both (periods, paths)."""
    spec = deal.spec
    n, paths = cash.shape
    dt = deal.dt
    notes = spec.tranches
    k = len(notes)
    coupon = np.array([t.coupon for t in notes])
    balance = np.repeat(np.array([t.face for t in notes])[:, None], paths, axis=1)
    deferred = np.zeros((k, paths))
    unpaid_fees = np.zeros(paths)
    reserve = np.full(paths, spec.reserve.initial)
    deficit = np.zeros(paths)
    interest = np.zeros((k, n, paths))
    principal = np.zeros((k, n, paths))
    fees = np.zeros((n, paths))
    residual = np.zeros((n, paths))
    reserve_end = np.zeros((n, paths))
    breach = np.zeros((k, n, paths), dtype=bool)
    for t in range(n):
        last = t == n - 1
        available = cash[t] - deficit
        deficit = np.maximum(-available, 0.0)
        available = np.maximum(available, 0.0)
        due = spec.fees.fixed + spec.fees.rate * dt * balance.sum(axis=0) + unpaid_fees
        fees[t] = _pay(due, available, reserve)
        unpaid_fees = due - fees[t]
        after_fees = available.copy()
        current = coupon[:, None] * dt * balance
        failed = np.zeros(paths, dtype=bool)
        for j, note in enumerate(notes):
            due = current[j] + deferred[j]
            interest[j, t] = _pay(due, available, reserve)
            deferred[j] = due - interest[j, t]
            breach[j, t] = _tests(
                note.oc_trigger,
                note.ic_trigger,
                collateral[t],
                after_fees,
                balance[: j + 1].sum(axis=0),
                current[: j + 1].sum(axis=0),
            )
            failed |= breach[j, t]
            if not last and breach[j, t].any():
                diverted = np.where(breach[j, t], available, 0.0)
                available -= diverted
                principal[: j + 1, t] += _sequential(balance[: j + 1], diverted)
                available += diverted  # what the senior notes did not need
        if last:
            available += reserve
            reserve = np.zeros(paths)
        else:
            top_up = np.minimum(np.maximum(spec.reserve.target - reserve, 0.0), available)
            reserve += top_up
            available -= top_up
        amount = np.minimum(np.maximum(balance.sum(axis=0) - target_balance(deal, t), 0.0), available)
        available -= amount
        if spec.principal == "sequential":
            principal[:, t] += _sequential(balance, amount)
        else:
            principal[:, t] += _pro_rata(balance, amount, failed)
        residual[t] = available
        reserve_end[t] = reserve
    return Flows(interest, principal, fees, residual, reserve_end, breach, balance, deferred, deficit)


def _tests(
    oc: float | None,
    ic: float | None,
    collateral: NDArray[np.float64],
    collections: NDArray[np.float64],
    balance: NDArray[np.float64],
    interest_due: NDArray[np.float64],
) -> NDArray[np.bool_]:
    """Paths where the OC or IC test of a class fails (a test with nothing outstanding passes)."""
    failed = np.zeros(balance.shape, dtype=bool)
    if oc is not None:
        failed |= (balance > 0.0) & (collateral < oc * balance)
    if ic is not None:
        failed |= (interest_due > 0.0) & (collections < ic * interest_due)
    return failed


def _pro_rata(
    balance: NDArray[np.float64], amount: NDArray[np.float64], sequential: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """Repay in proportion to balances, except on ``sequential`` paths; updates ``balance``."""
    total = balance.sum(axis=0)
    share = np.divide(balance, total, out=np.zeros_like(balance), where=total > 0.0)
    paid = np.minimum(share * amount, balance)
    if sequential.any():
        in_order = _sequential(balance.copy(), amount.copy())
        paid = np.where(sequential, in_order, paid)
    balance -= paid
    return paid


def conservation_gap(deal: Deal, cash: NDArray[np.float64], flows: Flows) -> NDArray[np.float64]:
    """Per path: everything paid out minus (pool cash + initial reserve + unpaid deficit); zero."""
    paid = flows.interest.sum(axis=(0, 1)) + flows.principal.sum(axis=(0, 1))
    paid += flows.fees.sum(axis=0) + flows.residual.sum(axis=0) + flows.reserve[-1]
    return paid - (cash.sum(axis=0) + deal.spec.reserve.initial + flows.deficit)
