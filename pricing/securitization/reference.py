"""A per-path, scalar statement of the waterfall: the independent reference for the vectorised one.

It follows the rules of :mod:`pricing.securitization.waterfall` one path at a time with plain
floats, the way a deal's offering memorandum reads, so that the tests can check the array code
against it path by path and the benchmark can measure what vectorising over paths buys.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from pricing.securitization.deal import Deal
from pricing.securitization.waterfall import Flows, target_balance


def run_path(deal: Deal, cash: list[float], collateral: list[float]) -> dict[str, list]:
    """One path's waterfall: per-period lists of what each party received, and the final losses."""
    spec = deal.spec
    notes = spec.tranches
    periods = len(cash)
    balance = [note.face for note in notes]
    deferred = [0.0] * len(notes)
    unpaid_fees = 0.0
    reserve = spec.reserve.initial
    deficit = 0.0
    out: dict[str, list] = {
        "interest": [],
        "principal": [],
        "fees": [],
        "residual": [],
        "reserve": [],
        "breach": [],
    }
    for t in range(periods):
        last = t == periods - 1
        money = cash[t] - deficit
        deficit = max(-money, 0.0)
        money = max(money, 0.0)

        def pay(due: float) -> float:
            nonlocal money, reserve
            from_money = min(due, money)
            from_reserve = min(due - from_money, reserve)
            money -= from_money
            reserve -= from_reserve
            return from_money + from_reserve

        fees_due = spec.fees.fixed + spec.fees.rate * deal.dt * sum(balance) + unpaid_fees
        fee = pay(fees_due)
        unpaid_fees = fees_due - fee
        after_fees = money
        coupons = [note.coupon * deal.dt * b for note, b in zip(notes, balance, strict=True)]
        paid_interest = [0.0] * len(notes)
        paid_principal = [0.0] * len(notes)
        breaches = [False] * len(notes)
        for j, note in enumerate(notes):
            due = coupons[j] + deferred[j]
            paid_interest[j] = pay(due)
            deferred[j] = due - paid_interest[j]
            senior = sum(balance[: j + 1])
            senior_interest = sum(coupons[: j + 1])
            oc_fails = (
                note.oc_trigger is not None and senior > 0.0 and collateral[t] < note.oc_trigger * senior
            )
            ic_fails = (
                note.ic_trigger is not None
                and senior_interest > 0.0
                and after_fees < note.ic_trigger * senior_interest
            )
            breaches[j] = oc_fails or ic_fails
            if breaches[j] and not last:
                for i in range(j + 1):
                    repay = min(balance[i], money)
                    balance[i] -= repay
                    paid_principal[i] += repay
                    money -= repay
        if last:
            money += reserve
            reserve = 0.0
        else:
            top_up = min(max(spec.reserve.target - reserve, 0.0), money)
            reserve += top_up
            money -= top_up
        amount = min(max(sum(balance) - target_balance(deal, t), 0.0), money)
        money -= amount
        if spec.principal == "pro_rata" and not any(breaches):
            total = sum(balance)
            shares = [amount * b / total if total > 0.0 else 0.0 for b in balance]
            for i, share in enumerate(shares):
                repay = min(share, balance[i])
                balance[i] -= repay
                paid_principal[i] += repay
        else:
            for i in range(len(balance)):
                repay = min(balance[i], amount)
                balance[i] -= repay
                paid_principal[i] += repay
                amount -= repay
        out["interest"].append(paid_interest)
        out["principal"].append(paid_principal)
        out["fees"].append(fee)
        out["residual"].append(money)
        out["reserve"].append(reserve)
        out["breach"].append(breaches)
    out["writedown"] = balance
    out["interest_shortfall"] = deferred
    out["deficit"] = [deficit]
    return out


def run_loop(deal: Deal, cash: NDArray[np.float64], collateral: NDArray[np.float64]) -> Flows:
    """The waterfall path by path with :func:`run_path`, assembled into :class:`Flows`."""
    results = [run_path(deal, cash[:, p].tolist(), collateral[:, p].tolist()) for p in range(cash.shape[1])]

    def stack(key: str) -> NDArray:
        return np.moveaxis(np.array([r[key] for r in results]), 0, -1)

    return Flows(
        interest=np.moveaxis(stack("interest"), 1, 0),
        principal=np.moveaxis(stack("principal"), 1, 0),
        fees=stack("fees"),
        residual=stack("residual"),
        reserve=stack("reserve"),
        breach=np.moveaxis(stack("breach"), 1, 0),
        writedown=stack("writedown"),
        interest_shortfall=stack("interest_shortfall"),
        deficit=stack("deficit")[0],
    )
