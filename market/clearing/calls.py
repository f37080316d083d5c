"""Margin calls: below maintenance an account is called for the missing margin, with a deadline.

At each pass, after the account's margin bucket has taken what its available cash allows
(:func:`market.clearing.portfolio.hold`):

- held below ``MAINTENANCE`` (80%) of the requirement and no call open: a call opens for
  ``required - held``, due ``CALL_HOURS`` hours later;
- a call is **met** when the account holds its full requirement again before the deadline (a deposit
  followed by a pass; the lifecycle runs passes at least daily and on large moves, ``flopex clearing
  remargin`` on demand);
- past the deadline the call turns ``liquidating`` and the liquidation engine
  (:mod:`market.clearing.liquidation`) reduces the account until it holds its requirement, then the
  call is ``closed``.

While a call is open or liquidating, the account's orders must reduce its positions
(:func:`check_order`); anything that could add risk (a new order, an amend to more lots) is refused
with ``margin_call``.
"""

from __future__ import annotations

import sqlalchemy as sa

from market.errors import InvalidRequestError, MarginCallError, ReduceOnlyError
from market.records import OrderRequest
from market.store import UnitOfWork
from market.tables import MarginCall

MAINTENANCE = 0.8
CALL_HOURS = 4
OPEN, MET, LIQUIDATING, CLOSED = "open", "met", "liquidating", "closed"
ACTIVE = (OPEN, LIQUIDATING)
_calls = MarginCall.__table__


def active(connection: sa.Connection, account_id: str) -> sa.Row | None:
    """The account's open or liquidating call, if any."""
    return connection.execute(
        sa.select(_calls).where(_calls.c.account_id == account_id, _calls.c.status.in_(ACTIVE))
    ).first()


def reduces(request: OrderRequest, position_qty: int) -> bool:
    """Whether every fill of ``request`` can only shrink a position of ``position_qty`` lots (the
    order takes liquidity at once: IOC or FOK, so the position cannot change before it fills)."""
    if request.tif not in ("ioc", "fok") or request.type not in ("limit", "market"):
        return False
    if position_qty > 0:
        return request.side == "sell" and request.qty <= position_qty
    if position_qty < 0:
        return request.side == "buy" and request.qty <= -position_qty
    return False


def check_order(uow: UnitOfWork, account_id: str, request: OrderRequest) -> None:
    """Refuse a reduce-only order that would not reduce, and any other order during a margin call."""
    if type(request.reduce_only) is not bool:
        raise InvalidRequestError("reduce_only must be true or false", field="reduce_only")
    if request.reduce_only and request.tif not in ("ioc", "fok"):
        raise InvalidRequestError("a reduce-only order is IOC or FOK", field="time_in_force")
    reducing = reduces(request, uow.position_qty(account_id, request.symbol))
    if request.reduce_only and not reducing:
        raise ReduceOnlyError(
            f"a reduce-only {request.side} of {request.qty} does not reduce the position in {request.symbol}",
            field="reduce_only",
        )
    if not reducing:
        refuse_more_risk(uow, account_id)


def _under_call(uow: UnitOfWork) -> frozenset[str]:
    """The accounts with a call in force, read once per transaction: a group of orders asks for
    every order, and a query per order was a third of the order path's time."""
    if uow.under_call is None:
        query = sa.select(_calls.c.account_id).where(_calls.c.status.in_(ACTIVE))
        uow.under_call = frozenset(uow.connection.execute(query).scalars())
    return uow.under_call


def refuse_more_risk(uow: UnitOfWork, account_id: str) -> None:
    """``margin_call`` if the account has a call in force (an order or amend that may add risk)."""
    if account_id in _under_call(uow):
        raise MarginCallError(
            "the account has an open margin call: only reduce-only orders are accepted until it is met"
        )


def in_force(connection: sa.Connection) -> dict[str, sa.Row]:
    """Every account's open or liquidating call (read once per pass)."""
    return {r.account_id: r for r in connection.execute(sa.select(_calls).where(_calls.c.status.in_(ACTIVE)))}


def decide(required: int, held: int, status: str | None) -> str | None:
    """The rule of a pass for one account, with no database: the call's new status, or None when
    nothing changes. ``status`` is the call in force (``open`` or ``liquidating``) or None.

    Holding the full requirement meets an open call (closes a liquidating one); with no call in
    force, holding less than ``MAINTENANCE`` of the requirement opens one."""
    if held >= required:
        return None if status is None else MET if status == OPEN else CLOSED
    if status is None and held < MAINTENANCE * required:
        return OPEN
    return None


def review(uow: UnitOfWork, account_id: str, required: int, held: int, call: sa.Row | None) -> str | None:
    """Open, meet or close the account's call (``call``: the one in force, if any) for this pass;
    returns what happened (or None)."""
    now = uow.now_us
    uow.under_call = None  # whatever this writes, the next order reads the calls again
    status = decide(required, held, None if call is None else call.status)
    if status in (MET, CLOSED):
        uow.connection.execute(
            _calls.update()
            .where(_calls.c.id == call.id)
            .values(status=status, closed_us=now, held_micros=held)
        )
        return status
    if call is not None:
        uow.connection.execute(
            _calls.update()
            .where(_calls.c.id == call.id)
            .values(required_micros=required, held_micros=held, amount_micros=required - held)
        )
        return None
    if status is None:
        return None
    uow.connection.execute(
        _calls.insert().values(
            account_id=account_id,
            required_micros=required,
            held_micros=held,
            amount_micros=required - held,
            status=OPEN,
            created_us=now,
            deadline_us=now + CALL_HOURS * 3_600_000_000,
        )
    )
    return OPEN


def due(uow: UnitOfWork) -> list[sa.Row]:
    """Calls past their deadline, turned ``liquidating``, with those already liquidating."""
    uow.under_call = None
    uow.connection.execute(
        _calls.update()
        .where(_calls.c.status == OPEN, _calls.c.deadline_us <= uow.now_us)
        .values(status=LIQUIDATING)
    )
    return list(
        uow.connection.execute(sa.select(_calls).where(_calls.c.status == LIQUIDATING).order_by(_calls.c.id))
    )
