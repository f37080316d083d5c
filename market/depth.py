"""What a market buy can reach in the asks of a book (other accounts' orders only): the worst price
for a quantity, and the most lots an amount of cash can hold for (see :mod:`market.trading`)."""

from __future__ import annotations

from collections.abc import Callable


def _depth(level: dict, account_id: str) -> int:
    return sum(o["qty"] for o in level["orders"] if o["account"] != account_id)


def worst_ask(asks: list[dict], account_id: str, qty: int) -> int:
    """The highest ask a market buy of ``qty`` could reach now (0 for an empty book)."""
    worst, left = 0, qty
    for level in asks:
        worst = level["price"]
        left -= _depth(level, account_id)
        if left <= 0:
            break
    return worst


def affordable(
    asks: list[dict], account_id: str, qty: int, available: int, hold_at: Callable[[int], int]
) -> int:
    """The most lots (at most ``qty``) whose hold at the worst ask they reach (``hold_at(price)`` per
    lot) ``available`` covers; ``qty`` when the book cannot fill more anyway or cash covers none of it
    (the engine then expires the rest, or the hold refuses as usual)."""
    reached = 0
    for level in asks:
        depth = _depth(level, account_id)
        if not depth:
            continue
        per_lot = hold_at(level["price"])
        can = min(reached + depth, qty, available // per_lot if per_lot else qty)
        if can <= reached:
            return reached or qty
        reached = can
        if reached >= qty:
            return qty
    return qty
