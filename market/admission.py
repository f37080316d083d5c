"""Whether a new order, or a one-cancels-other pair, may enter a book: the engine's validity checks.

Checking is kept apart from acting so that an OCO pair is admitted whole or not at all: both legs
are checked against the same book before either is accepted. Each check returns the rejection
``reason`` (a stable code, see ``docs/matching.md``) or the :class:`~market.book.Order` to accept;
nothing here changes state. A new order is checked field by field in a fixed order, so the reason
is always the first problem.
"""

from __future__ import annotations

from market.book import Book, BookSide, Order
from market.vocabulary import LIMIT_TYPES, ORDER_TYPES, STOP_TYPES, STP_MODES, TIFS, TRAILING_TYPES

NEW_KEYS = frozenset(
    {
        "op",
        "symbol",
        "id",
        "account",
        "side",
        "type",
        "price",
        "qty",
        "tif",
        "expire_at",
        "post_only",
        "stp",
        "display_qty",
        "stop_price",
        "trail",
        "activation_price",
    }
)
OCO_KEYS = frozenset({"op", "symbol", "account", "link", "orders"})
LEG_KEYS = NEW_KEYS - {"op", "symbol", "account"}

_ORDER_TYPES = frozenset(ORDER_TYPES + TRAILING_TYPES)
_LIMIT_TYPES = frozenset(LIMIT_TYPES)
_STOP_TYPES = frozenset(STOP_TYPES)
_TRAILING_TYPES = frozenset(TRAILING_TYPES)
_TIFS = frozenset(TIFS)
_STP_MODES = frozenset(STP_MODES)

MAX_INT = 2**63 - 1
"""The largest price, quantity or time the engine accepts: every number fits a signed 64-bit column."""


def check_new(cmd: dict, books: dict[str, Book], ids: set[str], now: int) -> Order | str:
    """The order a ``new`` command describes (priority 0, numbered on acceptance), or why not."""
    oid = cmd.get("id")
    if not NEW_KEYS.issuperset(cmd):
        return "unknown_field"
    if type(oid) is not str or not oid:
        return "invalid_id"
    if oid in ids:
        return "duplicate_id"
    symbol = cmd.get("symbol")
    book = books.get(symbol) if type(symbol) is str else None
    if book is None:
        return "unknown_symbol"
    account = cmd.get("account")
    if type(account) is not str or not account:
        return "invalid_account"
    side = cmd.get("side")
    if side != "buy" and side != "sell":
        return "invalid_side"
    is_buy = side == "buy"
    order_type = cmd.get("type")
    if type(order_type) is not str or order_type not in _ORDER_TYPES:
        return "invalid_type"
    qty = cmd.get("qty")
    if not positive_int(qty):
        return "invalid_qty"
    price, stop_price, trail = cmd.get("price"), cmd.get("stop_price"), cmd.get("trail")
    activation = cmd.get("activation_price")
    trailing = order_type in _TRAILING_TYPES
    for value, needed, reason in (
        (price, order_type in _LIMIT_TYPES, "invalid_price"),
        (stop_price, order_type in _STOP_TYPES, "invalid_stop_price"),
        (trail, trailing, "invalid_trail"),
    ):
        if not positive_int(value) if needed else value is not None:  # required, or forbidden
            return reason
    if activation is not None and not (trailing and positive_int(activation)):
        return "invalid_activation_price"
    tif = cmd.get("tif")
    if tif is None:
        tif = "ioc" if order_type == "market" else "gtc"
    elif type(tif) is not str or tif not in _TIFS or (order_type == "market" and tif in ("gtc", "gtd")):
        return "invalid_tif"
    expire_at = cmd.get("expire_at")
    if tif == "gtd":
        if type(expire_at) is not int or not now < expire_at <= MAX_INT:
            return "invalid_expire_at"
    elif expire_at is not None:
        return "invalid_expire_at"
    post_only = cmd.get("post_only")
    if post_only is None:
        post_only = False
    elif type(post_only) is not bool or (post_only and (order_type != "limit" or tif in ("ioc", "fok"))):
        return "invalid_post_only"
    stp = cmd.get("stp")
    if stp is None:
        stp = "cancel_newest"
    elif type(stp) is not str or stp not in _STP_MODES:
        return "invalid_stp"
    display = cmd.get("display_qty")
    if display is not None and (
        type(display) is not int
        or not 0 < display <= qty
        or order_type not in _LIMIT_TYPES
        or tif in ("ioc", "fok")
    ):
        return "invalid_display_qty"
    if order_type == "limit":
        band = book.band()
        if band is not None and not band[0] <= price <= band[1]:
            return "outside_band"
        if post_only and crosses(book.asks if is_buy else book.bids, is_buy, price):
            return "post_only_would_take"
    return Order(
        oid,
        symbol,
        account,
        is_buy,
        order_type,
        price,
        qty,
        tif,
        expire_at,
        post_only,
        stp,
        display,
        stop_price,
        0,
        trail,
        activation,
    )


def check_oco(cmd: dict, books: dict[str, Book], ids: set[str], now: int) -> list[Order] | list[tuple]:
    """The two legs of an ``oco`` command, or one ``(id, reason)`` rejection per leg.

    The pair rules (``invalid_oco`` otherwise): two legs of the same side and quantity, one a
    resting ``limit`` (``gtc``/``gtd``, the take-profit) and the other a stop or trailing stop; with
    a plain stop, the limit lies on the profit side of it (a sell's limit above the stop price, a
    buy's below). A leg that fails its own checks is rejected with its reason and the other leg with
    ``oco_leg_rejected``.
    """
    legs = cmd.get("orders")
    if type(legs) is not list or len(legs) != 2 or not all(type(leg) is dict for leg in legs):
        return [(None, "invalid_oco")]
    leg_ids = [leg.get("id") if type(leg.get("id")) is str else None for leg in legs]
    if not OCO_KEYS.issuperset(cmd) or not all(LEG_KEYS.issuperset(leg) for leg in legs):
        return [(oid, "unknown_field") for oid in leg_ids]
    link = cmd.get("link")
    if type(link) is not str or not link:
        return [(oid, "invalid_oco") for oid in leg_ids]
    base = {"op": "new", "symbol": cmd.get("symbol"), "account": cmd.get("account")}
    orders: list[Order] = []
    seen = set(ids)
    for i, leg in enumerate(legs):
        checked = check_new({**base, **leg}, books, seen, now)
        if type(checked) is str:
            return [(oid, checked if j == i else "oco_leg_rejected") for j, oid in enumerate(leg_ids)]
        seen.add(checked.id)
        orders.append(checked)
    first, second = orders
    limit, stop = (first, second) if first.order_type == "limit" else (second, first)
    trigger = stop.stop_price
    if (
        first.is_buy != second.is_buy
        or first.open != second.open
        or limit.order_type != "limit"
        or limit.tif not in ("gtc", "gtd")
        or not stop.pending
        or (trigger is not None and (limit.price >= trigger if limit.is_buy else limit.price <= trigger))
    ):
        return [(oid, "invalid_oco") for oid in leg_ids]
    return orders


def positive_int(value: object) -> bool:
    """Whether ``value`` is an int (not a bool) in ``1 .. MAX_INT``."""
    return type(value) is int and 0 < value <= MAX_INT


def crosses(opposite: BookSide, is_buy: bool, price: int) -> bool:
    """Whether a ``price`` on the buy (``is_buy``) or sell side would trade against ``opposite``."""
    best = opposite.best_price()
    return best is not None and (price >= best if is_buy else price <= best)
