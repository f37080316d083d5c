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


def resize(uow: UnitOfWork, target: int, requirements: dict[str, int]) -> dict[str, int]:
    """Bring each member's contribution to its share of ``target`` (by ``requirements``, the initial
    margin each must hold); members without requirements get theirs back. Returns the contributions."""
    current = contributions(uow.connection)
    wanted = pro_rata(target, {a: r for a, r in requirements.items() if r > 0})
    changed: dict[str, int] = {}
    for account in sorted(set(current) | set(wanted)):
        have, want = current.get(account, 0), wanted.get(account, 0)
        move = want - have
        if move > 0:
            move = min(move, uow.ledger.balance(account, AVAILABLE))
        if move == 0:
            continue
        uow.ledger.move((account, AVAILABLE), (SYSTEM, DEFAULT_FUND), move)
        uow.ledger.post("fund_contribution", account_id=account)
        changed[account] = have + move
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


def cover(uow: UnitOfWork, account_id: str, shortfall: int, ref: str) -> Cover:
    """Run ``shortfall`` (already paid out of ``settlement``) through the waterfall and record it."""
    ledger = uow.ledger
    current = contributions(uow.connection)
    left = shortfall

    def refill(source: tuple[str, str], amount: int, step: str, owner: str | None = None) -> int:
        nonlocal left
        amount = min(amount, left)
        if amount > 0:
            ledger.move(source, (SYSTEM, SETTLEMENT), amount)
            ledger.post(f"default_{step}", account_id=owner or account_id, ref=ref)
            left -= amount
        return max(amount, 0)

    own = refill((SYSTEM, DEFAULT_FUND), current.get(account_id, 0), "contribution")
    if own:
        _set(uow, account_id, current[account_id] - own, current)
    capital = refill((SYSTEM, CAPITAL), ledger.balance(SYSTEM, CAPITAL), "capital")
    others = {a: c for a, c in current.items() if a != account_id and c > 0}
    fund = 0
    for member, part in sorted(pro_rata(min(left, sum(others.values())), others).items()):
        taken = refill((SYSTEM, DEFAULT_FUND), part, "fund", member)
        if taken:
            _set(uow, member, current[member] - taken, current)
        fund += taken
    assessment = 0
    caps = pro_rata(left, others)
    for member, part in sorted(caps.items()):
        due = min(part, others[member], ledger.balance(member, AVAILABLE))
        assessment += refill((member, AVAILABLE), due, "assessment", member)
    result = Cover(account_id, ref, shortfall, own, capital, fund, assessment, left)
    uow.connection.execute(
        _defaults.insert().values(
            account_id=account_id,
            ref=ref,
            shortfall_micros=shortfall,
            contribution_micros=own,
            capital_micros=capital,
            fund_micros=fund,
            assessment_micros=assessment,
            uncovered_micros=left,
            created_us=uow.now_us,
        )
    )
    return result
