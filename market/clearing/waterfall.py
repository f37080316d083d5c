"""The default fund and the default waterfall.

**Sizing rule (Cover 1).** At each pass the fund's target is the largest uncovered stressed loss of
any single member: for each account, the worst of the named stress scenarios
(:mod:`pricing.risk.stress`, summed over its products) less the initial margin it is required to
hold, floored at zero; the target is the maximum over accounts. Members with margined positions
contribute in proportion to their initial margin requirement (rounded down; the largest remainders
take the odd micro-dollars). Each pass moves the difference between ``available`` and the exchange's
``default_fund`` bucket, one transfer per member (as far as a member's cash goes; a member whose
positions are gone gets its contribution back unless it has a default being covered).

**Waterfall.** A loss an account cannot pay (variation margin or cash settlement beyond its cash and
margin) leaves the exchange's ``settlement`` bucket short. It is refilled, each step a ledger
transfer into ``settlement`` posted under the default's id, in this order:

1. the defaulter's own margin and cash (already taken by the payment that failed);
2. the defaulter's default-fund contribution;
3. the exchange's own capital slice (the ``capital`` bucket, funded by ``fund_capital``);
4. the mutualised fund: the other members' contributions, pro rata;
5. loss allocation: an assessment on the surviving members, pro rata to their contributions and
   capped at one more contribution each, from their available cash;
6. anything still missing stays as an ``uncovered`` loss on the default record (and as a negative
   ``settlement`` balance): reported in ``GET /v1/admin/defaults``, never hidden.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from market.ledger import AVAILABLE, CAPITAL, DEFAULT_FUND, SETTLEMENT, SYSTEM
from market.store import UnitOfWork
from market.tables import Default, FundContribution

_contributions = FundContribution.__table__
_defaults = Default.__table__


@dataclass(frozen=True)
class Cover:
    """How one default was covered, micro-dollars per waterfall step."""

    account_id: str
    ref: str
    shortfall: int
    contribution: int
    capital: int
    fund: int
    assessment: int
    uncovered: int


def contributions(connection: sa.Connection) -> dict[str, int]:
    """Every member's current contribution."""
    return {r.account_id: int(r.amount_micros) for r in connection.execute(sa.select(_contributions))}


def pro_rata(total: int, weights: dict[str, int]) -> dict[str, int]:
    """Split ``total`` by ``weights`` (rounded down, largest remainders then account order get the rest)."""
    whole = sum(weights.values())
    if whole <= 0 or total <= 0:
        return dict.fromkeys(weights, 0)
    parts = {k: total * w // whole for k, w in weights.items()}
    left = total - sum(parts.values())
    for k in sorted(weights, key=lambda k: (-(total * weights[k] % whole), k))[:left]:
        parts[k] += 1
    return parts


def _set(uow: UnitOfWork, account_id: str, amount: int, existing: dict[str, int]) -> None:
    if account_id in existing:
        uow.connection.execute(
            _contributions.update()
            .where(_contributions.c.account_id == account_id)
            .values(amount_micros=amount)
        )
    else:
        uow.connection.execute(_contributions.insert().values(account_id=account_id, amount_micros=amount))
    existing[account_id] = amount


def contribution_moves(
    current: dict[str, int], target: int, requirements: dict[str, int], available: Callable[[str], int]
) -> dict[str, int]:
    """The resizing rule with no database: what each member pays in (positive) or gets back
    (negative) to bring ``current`` contributions to its share of ``target`` by ``requirements``
    (members without one get theirs back; a payment is capped at the member's ``available`` cash)."""
    wanted = pro_rata(target, {a: r for a, r in requirements.items() if r > 0})
    moves: dict[str, int] = {}
    for account in sorted(set(current) | set(wanted)):
        move = wanted.get(account, 0) - current.get(account, 0)
        if move > 0:
            move = min(move, available(account))
        if move:
            moves[account] = move
    return moves


def resize(uow: UnitOfWork, target: int, requirements: dict[str, int]) -> dict[str, int]:
    """Bring each member's contribution to its share of ``target`` (by ``requirements``, the initial
    margin each must hold); members without requirements get theirs back. Returns the contributions."""
    current = contributions(uow.connection)
    changed: dict[str, int] = {}
    for account, move in contribution_moves(
        current, target, requirements, lambda a: uow.ledger.balance(a, AVAILABLE)
    ).items():
        uow.ledger.move((account, AVAILABLE), (SYSTEM, DEFAULT_FUND), move)
        uow.ledger.post("fund_contribution", account_id=account)
        changed[account] = current.get(account, 0) + move
    new = [{"account_id": a, "amount_micros": v} for a, v in changed.items() if a not in current]
    old = [{"_a": a, "v": v} for a, v in changed.items() if a in current]
    if new:
        uow.connection.execute(_contributions.insert(), new)
    if old:
        uow.connection.execute(
            _contributions.update()
            .where(_contributions.c.account_id == sa.bindparam("_a"))
            .values(amount_micros=sa.bindparam("v")),
            old,
        )
    current.update(changed)
    return current


@dataclass(frozen=True)
class Allocation:
    """How the waterfall splits one shortfall, micro-dollars per step (``fund`` and ``assessments``:
    ``(member, amount)`` in member order), before anything moves."""

    own: int
    capital: int
    fund: tuple[tuple[str, int], ...]
    assessments: tuple[tuple[str, int], ...]
    uncovered: int


def allocate(
    account_id: str,
    shortfall: int,
    current: dict[str, int],
    capital: int,
    available: Callable[[str], int],
) -> Allocation:
    """The waterfall's rule with no database: split ``shortfall`` of ``account_id`` over its own
    contribution, the exchange's ``capital``, the other members' ``current`` contributions pro rata,
    then assessments (pro rata, capped at one contribution and at ``available(member)`` cash)."""
    left = shortfall
    own = max(min(current.get(account_id, 0), left), 0)
    left -= own
    from_capital = max(min(capital, left), 0)
    left -= from_capital
    others = {a: c for a, c in current.items() if a != account_id and c > 0}
    fund = tuple(
        (m, part) for m, part in sorted(pro_rata(min(left, sum(others.values())), others).items()) if part > 0
    )
    left -= sum(part for _, part in fund)
    assessments = []
    for member, part in sorted(pro_rata(left, others).items()):
        due = min(part, others[member], available(member), left)
        if due > 0:
            assessments.append((member, due))
            left -= due
    return Allocation(own, from_capital, fund, tuple(assessments), left)


def cover(uow: UnitOfWork, account_id: str, shortfall: int, ref: str) -> Cover:
    """Run ``shortfall`` (already paid out of ``settlement``) through the waterfall and record it."""
    ledger = uow.ledger
    current = contributions(uow.connection)
    plan = allocate(
        account_id,
        shortfall,
        current,
        ledger.balance(SYSTEM, CAPITAL),
        lambda member: ledger.balance(member, AVAILABLE),
    )

    def refill(source: tuple[str, str], amount: int, step: str, owner: str) -> None:
        if amount > 0:
            ledger.move(source, (SYSTEM, SETTLEMENT), amount)
            ledger.post(f"default_{step}", account_id=owner, ref=ref)

    refill((SYSTEM, DEFAULT_FUND), plan.own, "contribution", account_id)
    if plan.own:
        _set(uow, account_id, current[account_id] - plan.own, current)
    refill((SYSTEM, CAPITAL), plan.capital, "capital", account_id)
    for member, taken in plan.fund:
        refill((SYSTEM, DEFAULT_FUND), taken, "fund", member)
        _set(uow, member, current[member] - taken, current)
    for member, due in plan.assessments:
        refill((member, AVAILABLE), due, "assessment", member)
    fund = sum(taken for _, taken in plan.fund)
    assessment = sum(due for _, due in plan.assessments)
    result = Cover(account_id, ref, shortfall, plan.own, plan.capital, fund, assessment, plan.uncovered)
    uow.connection.execute(
        _defaults.insert().values(
            account_id=account_id,
            ref=ref,
            shortfall_micros=shortfall,
            contribution_micros=plan.own,
            capital_micros=plan.capital,
            fund_micros=fund,
            assessment_micros=assessment,
            uncovered_micros=plan.uncovered,
            created_us=uow.now_us,
        )
    )
    return result
