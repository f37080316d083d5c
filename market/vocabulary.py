"""The words of an order, in one place: sides, types, time in force, self-trade prevention, statuses.

Each is a ``Literal`` type (what the API's msgspec schemas and type checkers use) and a tuple of its
values (what the engine and trading check against), the tuple read from the type so the two never
drift. The matching engine owns the validity of an order against the book
(:meth:`market.engine.MatchingEngine.apply` rejects with a reason); trading owns the account and risk
checks and refuses a malformed request before anything is held.
"""

from __future__ import annotations

from typing import Literal, get_args

Side = Literal["buy", "sell"]
OrderType = Literal[
    "limit", "market", "stop_limit", "stop_market", "trailing_stop_limit", "trailing_stop_market"
]
TimeInForce = Literal["gtc", "ioc", "fok", "gtd"]
SelfTradePrevention = Literal["cancel_newest", "cancel_oldest", "cancel_both", "decrement", "none"]
OrderStatus = Literal["open", "partially_filled", "filled", "cancelled", "expired", "rejected"]

SIDES: tuple[str, ...] = get_args(Side)
ORDER_TYPES: tuple[str, ...] = get_args(OrderType)
LIMIT_TYPES = ("limit", "stop_limit", "trailing_stop_limit")  # the types with a limit price
STOP_TYPES = ("stop_limit", "stop_market")  # the types with a stop price
TRAILING_TYPES = ("trailing_stop_limit", "trailing_stop_market")  # the types with a trail
CONDITIONAL_TYPES = STOP_TYPES + TRAILING_TYPES  # the types that wait outside the book until triggered
TIFS: tuple[str, ...] = get_args(TimeInForce)
STP_MODES: tuple[str, ...] = get_args(SelfTradePrevention)
ORDER_STATUSES: tuple[str, ...] = get_args(OrderStatus)
LIVE = ("open", "partially_filled")  # the statuses of an order the book holds
