"""The desk's use cases, as functions of the :class:`market.house.House` (the facade
:class:`market.service.Exchange` exposes them): execute a hedge, read it, list them, re-plan what is
left of one, cancel one.

A hedge is idempotent by the buyer's key: the same key with the same request returns the hedge
first made (across restarts: the key is unique per account in the database), the same key with a
different request is ``idempotency_key_reused``. Fills are tracked from the orders themselves, so a
hedge's state is always the market's. Re-planning is explicit (``replan_hedge``): nothing moves a
buyer's orders behind its back.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import TYPE_CHECKING

import sqlalchemy as sa

from market.accounts import account
from market.catalog import instrument
from market.errors import (
    ConflictError,
    IdempotencyKeyReusedError,
    InvalidRequestError,
    NotFoundError,
)
from market.hedges import placing
from market.hedges.planning import plan_forecast, plan_summary
from market.hedges.reads import hedge_info
from market.hedges.records import HedgeInfo, HedgeRequest, PlanRequest
from market.hedges.tables import Hedge
from market.house import page_limit
from market.vocabulary import LIVE

if TYPE_CHECKING:
    from market.house import House

_hedges = Hedge.__table__
MAX_LEGS = 500
MAX_GPUS = 1_000_000
MAX_SLIPPAGE_PPM = 200_000


def execute_hedge(house: House, account_id: str, request: HedgeRequest) -> HedgeInfo:
    """Turn a plan into orders (see :mod:`market.hedges.placing`) and record the hedge.

    ``request.targets`` are a plan made elsewhere (``flopex hedge plan``: symbol and GPUs); with
    ``request.plan`` the exchange plans the usage forecast itself against its books and marks.
    Refusals name the field: ``positions[2].symbol`` (``unknown_instrument``), ``positions`` or
    ``plan`` (``insufficient_funds`` with ``means="refuse"``), ``plan.forecast[3].usage``, ...
    """
    account(house, account_id)
    _check(request)
    text = json.dumps(_request_json(request), sort_keys=True, allow_nan=False)
    digest = hashlib.sha256(text.encode()).hexdigest()
    if request.idempotency_key is not None:
        existing = _by_key(house, account_id, request.idempotency_key, digest)
        if existing is not None:
            return existing
    field = "plan" if request.plan is not None else "positions"
    summary = None
    if request.plan is not None:
        result = plan_forecast(house, request.plan)
        summary = plan_summary(result)
        wanted = {p.symbol: p.gpus for p in result.positions if p.gpus > 0}
    else:
        wanted = {t.symbol: t.gpus for t in request.targets}
    lots = _lots(house, wanted, field)
    legs, share = placing.within_means(
        house, account_id, placing.price_legs(house, lots, request.slippage_ppm), request.means, field=field
    )
    kept = {leg.symbol: leg.lots for leg in legs}
    new = {
        "account_id": account_id,
        "idempotency_key": request.idempotency_key,
        "request_hash": digest,
        "source": "forecast" if request.plan is not None else "positions",
        "request": text,
        "plan": summary,
        "slippage_ppm": request.slippage_ppm,
        "means": request.means,
        "scale_ppm": share,
    }
    try:
        hedge_id = placing.place_round(
            house, account_id, {s: (n, kept.get(s, n)) for s, n in lots.items()}, legs, new=new
        )
    except sa.exc.IntegrityError:
        if request.idempotency_key is None:
            raise
        existing = _by_key(house, account_id, request.idempotency_key, digest)  # a concurrent twin won
        if existing is None:
            raise
        return existing
    return hedge(house, account_id, hedge_id)


def hedge(house: House, account_id: str, hedge_id: int) -> HedgeInfo:
    """One of the account's hedges (another account's is ``not_found``)."""
    with house.read() as connection:
        row = connection.execute(
            sa.select(_hedges).where(_hedges.c.id == hedge_id, _hedges.c.account_id == account_id)
        ).one_or_none()
        if row is None:
            raise NotFoundError(f"no hedge {hedge_id!r}", field="hedge_id")
        return hedge_info(house, connection, row)


def hedges(house: House, account_id: str, *, after: int | None = None, limit: int = 100) -> list[HedgeInfo]:
    """The account's hedges, oldest first, after hedge id ``after``."""
    query = sa.select(_hedges).where(_hedges.c.account_id == account_id).order_by(_hedges.c.id)
    if after is not None:
        query = query.where(_hedges.c.id > after)
    with house.read() as connection:
        rows = connection.execute(query.limit(page_limit(limit))).all()
        return [hedge_info(house, connection, row) for row in rows]


def replan_hedge(house: House, account_id: str, hedge_id: int, slippage_ppm: int | None = None) -> HedgeInfo:
    """Place what is left of a hedge at fresh limits from the books and marks now, as a new round.

    A hedge the exchange planned is planned again first: its forecast's periods still to come, against
    the market now, keeping the GPUs already bought (the new targets are never below them). A hedge
    of given positions keeps its targets. The hedge's resting orders are cancelled and replaced in the
    same transaction; ``slippage_ppm`` (default: the hedge's) caps the new limits. A cancelled hedge is
    ``conflict``; a filled one of given positions comes back unchanged.
    """
    current = hedge(house, account_id, hedge_id)
    if current.status == "cancelled":
        raise ConflictError(f"hedge {hedge_id} is cancelled; execute a new one", field="hedge_id")
    if current.status == "filled" and current.source == "positions":
        return current
    slippage = current.slippage_ppm if slippage_ppm is None else _slippage(slippage_ppm)
    held = {leg.symbol: leg.filled_lots * leg.lot_gpus for leg in current.legs if leg.filled_lots}
    targets = {leg.symbol: leg.target_lots for leg in current.legs}
    planned = {leg.symbol: leg.planned_lots for leg in current.legs}
    summary = None
    if current.source == "forecast":
        with house.read() as connection:
            stored = json.loads(
                connection.execute(sa.select(_hedges.c.request).where(_hedges.c.id == hedge_id)).scalar_one()
            )
        result = plan_forecast(house, PlanRequest(**stored["plan"]), held)
        summary = plan_summary(result)
        wanted = _lots(house, {p.symbol: p.gpus for p in result.positions if p.gpus > 0}, "plan")
        planned = {s: max(n, planned.get(s, 0)) for s, n in (planned | wanted).items()}
        targets = {s: max(wanted.get(s, 0), current_filled(current, s)) for s in planned}
    remainder = {s: max(n - current_filled(current, s), 0) for s, n in targets.items()}
    resting = [o.order for o in current.orders if o.order is not None and o.order.status in LIVE]
    legs, share = placing.within_means(
        house,
        account_id,
        placing.price_legs(house, remainder, slippage),
        current.means,
        freed_micros=sum(order.reserved_micros for order in resting),
        field="hedge_id",
    )
    kept = {leg.symbol: leg.lots + current_filled(current, leg.symbol) for leg in legs}
    placing.place_round(
        house,
        account_id,
        {s: (planned.get(s, n), kept.get(s, n)) for s, n in targets.items()},
        legs,
        hedge_id=hedge_id,
        replace=tuple(order.id for order in resting),
        changes={"slippage_ppm": slippage, "scale_ppm": share} | ({"plan": summary} if summary else {}),
    )
    return hedge(house, account_id, hedge_id)


def cancel_hedge(house: House, account_id: str, hedge_id: int) -> HedgeInfo:
    """Cancel the hedge's resting orders (what is filled stays bought); cancelling twice is harmless."""
    current = hedge(house, account_id, hedge_id)
    resting = [o.order.id for o in current.orders if o.order is not None and o.order.status in LIVE]
    placing.cancel_resting(house, account_id, hedge_id, resting)
    return hedge(house, account_id, hedge_id)


def current_filled(info: HedgeInfo, symbol: str) -> int:
    """Lots of ``symbol`` the hedge has bought so far."""
    return sum(leg.filled_lots for leg in info.legs if leg.symbol == symbol)


def _check(request: HedgeRequest) -> None:
    if (request.plan is None) == (not request.targets):
        raise InvalidRequestError(
            "give either positions (a plan's targets) or plan (a forecast)", field="positions"
        )
    if len(request.targets) > MAX_LEGS:
        raise InvalidRequestError(f"at most {MAX_LEGS} positions per hedge", field="positions")
    seen = set()
    for i, target in enumerate(request.targets):
        if target.symbol in seen:
            raise InvalidRequestError(f"{target.symbol} is listed twice", field=f"positions[{i}].symbol")
        seen.add(target.symbol)
        if type(target.gpus) is not int or not 1 <= target.gpus <= MAX_GPUS:
            raise InvalidRequestError(
                f"gpus must be a whole number in [1, {MAX_GPUS}], got {target.gpus!r}",
                field=f"positions[{i}].gpus",
            )
    _slippage(request.slippage_ppm)
    if request.means not in ("refuse", "scale"):
        raise InvalidRequestError(f'means must be "refuse" or "scale", got {request.means!r}', field="means")
    key = request.idempotency_key
    if key is not None and (not isinstance(key, str) or not 0 < len(key) <= 200):
        raise InvalidRequestError("an idempotency key has 1-200 characters", field="idempotency_key")


def _slippage(ppm: int) -> int:
    if type(ppm) is not int or not 0 <= ppm <= MAX_SLIPPAGE_PPM:
        raise InvalidRequestError(
            f"slippage must be 0 to {MAX_SLIPPAGE_PPM // 100} basis points over fair value",
            field="max_slippage_bps",
        )
    return ppm


def _lots(house: House, wanted: dict[str, int], field: str) -> dict[str, int]:
    """Lots per symbol for ``wanted`` GPUs (rounded up to whole lots); unknown or closed instruments and
    sells are refused naming the position."""
    out = {}
    for i, (symbol, gpus) in enumerate(wanted.items()):
        where = f"{field}[{i}].symbol" if field == "positions" else field
        try:
            spec = instrument(house, symbol)
        except NotFoundError as exc:
            raise type(exc)(exc.message, field=where) from None
        if spec.status != "open":
            raise ConflictError(f"{symbol} is {spec.status}, not open for trading", field=where)
        out[symbol] = -(-gpus // spec.lot_gpus)
    return out


def _by_key(house: House, account_id: str, key: str, digest: str) -> HedgeInfo | None:
    with house.read() as connection:
        row = connection.execute(
            sa.select(_hedges).where(_hedges.c.account_id == account_id, _hedges.c.idempotency_key == key)
        ).one_or_none()
        if row is None:
            return None
        if row.request_hash != digest:
            raise IdempotencyKeyReusedError(
                f"idempotency key {key!r} was used for a different hedge", field="idempotency_key"
            )
        return hedge_info(house, connection, row)


def _request_json(request: HedgeRequest) -> dict:
    """What defines a hedge request (the key aside), as stored with it and digested for idempotency."""
    body: dict = {"slippage_ppm": request.slippage_ppm, "means": request.means}
    if request.plan is not None:
        body["plan"] = asdict(request.plan)
    else:
        body["positions"] = [asdict(t) for t in request.targets]
    return body
