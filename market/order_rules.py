"""The shape of an order request, checked before anything is held: fields that belong together,
bounds that keep every number inside a 64-bit column, and the words of :mod:`market.vocabulary`.

The matching engine re-checks an order against the book (:mod:`market.admission`); these checks
answer the client with a field name and a stable problem code instead of a book rejection.
"""

from __future__ import annotations

from market.errors import InvalidQuantityError, InvalidRequestError
from market.records import OrderRequest
from market.units import to_epoch_us
from market.vocabulary import LIMIT_TYPES, ORDER_TYPES, SIDES, STOP_TYPES, STP_MODES, TIFS, TRAILING_TYPES

MAX_QTY = 10**9
MAX_TICKS = 10**12


def validate(req: OrderRequest, now_us: int) -> None:
    """Refuse a malformed request (``invalid_request``, ``invalid_quantity``) before anything is held."""
    if req.side not in SIDES:
        raise InvalidRequestError("side must be buy or sell", field="side")
    if req.type not in ORDER_TYPES:
        raise InvalidRequestError(f"type must be one of {', '.join(ORDER_TYPES)}", field="type")
    if req.tif not in TIFS or (req.type == "market" and req.tif in ("gtc", "gtd")):
        message = f"time_in_force must be one of {', '.join(TIFS)} (market orders: ioc or fok)"
        raise InvalidRequestError(message, field="time_in_force")
    if req.stp not in STP_MODES:
        raise InvalidRequestError(f"stp must be one of {', '.join(STP_MODES)}", field="stp")
    if type(req.qty) is not int or not 0 < req.qty <= MAX_QTY:
        raise InvalidQuantityError("quantity must be a positive whole number of lots", field="quantity")
    if req.type in LIMIT_TYPES:
        check_ticks(req.price_ticks, "price")
    elif req.price_ticks is not None:
        raise InvalidRequestError(f"a {req.type} order takes no price", field="price")
    if req.type in STOP_TYPES:
        check_ticks(req.stop_price_ticks, "stop_price")
    elif req.stop_price_ticks is not None:
        raise InvalidRequestError("only stop orders take a stop_price", field="stop_price")
    if req.type in TRAILING_TYPES:
        check_ticks(req.trail_ticks, "trail")
    elif req.trail_ticks is not None:
        raise InvalidRequestError("only trailing stops take a trail", field="trail")
    if req.activation_price_ticks is not None:
        if req.type not in TRAILING_TYPES:
            raise InvalidRequestError(
                "only trailing stops take an activation_price", field="activation_price"
            )
        check_ticks(req.activation_price_ticks, "activation_price")
    if req.display_qty is not None and (
        type(req.display_qty) is not int
        or not 0 < req.display_qty <= req.qty
        or req.type not in LIMIT_TYPES
        or req.tif in ("ioc", "fok")
    ):
        raise InvalidRequestError(
            "display_quantity must be between 1 and the quantity, on a resting limit order",
            field="display_quantity",
        )
    resting_limit = req.type == "limit" and req.tif not in ("ioc", "fok")
    if type(req.post_only) is not bool or (req.post_only and not resting_limit):
        raise InvalidRequestError("post_only applies to gtc/gtd limit orders", field="post_only")
    if req.tif == "gtd":
        if req.expire_at is None or to_epoch_us(req.expire_at) <= now_us:
            raise InvalidRequestError("a gtd order needs an expire_at in the future", field="expire_at")
    elif req.expire_at is not None:
        raise InvalidRequestError("expire_at needs time_in_force gtd", field="expire_at")
    if req.client_order_id is not None and (
        not isinstance(req.client_order_id, str) or not 0 < len(req.client_order_id) <= 64
    ):
        raise InvalidRequestError("client_order_id must be 1-64 characters", field="client_order_id")


def check_ticks(value: object, field: str) -> None:
    if type(value) is not int or not 0 < value <= MAX_TICKS:
        raise InvalidRequestError(f"{field} must be a positive number of ticks", field=field)
