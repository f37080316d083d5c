"""``flopex order``: trade from the command line at a running server -- place one order or a batch,
amend, cancel one or all, list and show your orders, and arm the dead-man switch.

Every subcommand goes through the typed :class:`api.client.Client` with your API key. Prices are
decimal strings passed to the API exactly as typed (``2.450``), never floats; the server checks them
against the instrument's tick. Output is a table, or with ``--json`` the API's response.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import islice
from typing import IO, Any

import click

from api.cli._http import api_client, key_option, url_option
from api.cli._options import UTC_TIME
from market.vocabulary import ORDER_STATUSES, ORDER_TYPES, SIDES, STP_MODES, TIFS


def _remote(callback: Callable[..., None]) -> Callable[..., None]:
    """The options of every subcommand: where the server is, your key, and ``--json``."""
    as_json = click.option("--json", "as_json", is_flag=True, help="Print the API's response as JSON.")
    return url_option(key_option(as_json(callback)))


@click.group("order")
def command() -> None:
    """Place, amend, cancel and list your orders at a running server; arm the dead-man switch."""


@command.command("place")
@click.argument("symbol")
@click.argument("side", type=click.Choice(SIDES))
@click.argument("quantity", type=int)
@click.option("--price", default=None, help="Limit price, a decimal string (e.g. 2.450); limit orders.")
@click.option("--type", "type_", type=click.Choice(ORDER_TYPES), default=None, help="Default: limit.")
@click.option(
    "--tif", type=click.Choice(TIFS), default=None, help="Time in force (default: gtc; ioc for market)."
)
@click.option("--stop-price", default=None, help="Trigger price of a stop order, a decimal string.")
@click.option("--trail", default=None, help="How far a trailing stop trails the market, a price amount.")
@click.option("--activation-price", default=None, help="A trailing stop starts trailing once this trades.")
@click.option("--expire-at", default=None, help="When a gtd order expires (ISO 8601 with offset).")
@click.option("--display-quantity", type=int, default=None, help="Lots shown at a time (an iceberg).")
@click.option("--client-order-id", default=None, help="Your id for the order, unique per account.")
@click.option("--stp", type=click.Choice(STP_MODES), default=None, help="Self-trade prevention.")
@click.option("--post-only", is_flag=True, help="Refuse the order rather than take liquidity.")
@click.option("--reduce-only", is_flag=True, help="Only shrink your position (ioc or fok).")
@_remote
def place_command(
    symbol: str,
    side: str,
    quantity: int,
    price: str | None,
    type_: str | None,
    tif: str | None,
    stop_price: str | None,
    trail: str | None,
    activation_price: str | None,
    expire_at: str | None,
    display_quantity: int | None,
    client_order_id: str | None,
    stp: str | None,
    post_only: bool,
    reduce_only: bool,
    url: str | None,
    api_key: str,
    as_json: bool,
) -> None:
    """Place an order: SIDE (buy or sell) QUANTITY lots of SYMBOL (POST /v1/orders)."""
    given = {
        "type": type_,
        "time_in_force": tif,
        "stop_price": stop_price,
        "trail": trail,
        "activation_price": activation_price,
        "expire_at": expire_at,
        "display_quantity": display_quantity,
        "client_order_id": client_order_id,
        "stp": stp,
        "post_only": post_only or None,
        "reduce_only": reduce_only or None,
    }
    fields = {name: value for name, value in given.items() if value is not None}
    with api_client(url, api_key) as flopex:
        _show_orders(flopex.place(symbol, side, quantity, price, **fields), as_json)


@command.command("oco")
@click.argument("symbol")
@click.argument("side", type=click.Choice(SIDES))
@click.argument("quantity", type=int)
@click.option("--take-profit", required=True, help="Limit price of the take-profit leg (rests gtc).")
@click.option("--stop-price", default=None, help="Trigger price of the stop leg.")
@click.option("--trail", default=None, help="Make the stop leg a trailing stop, trailing by this amount.")
@click.option(
    "--activation-price", default=None, help="The trailing stop leg starts trailing once this trades."
)
@click.option(
    "--stop-limit", default=None, help="Limit price of the stop leg once triggered (default: market)."
)
@_remote
def oco_command(
    symbol: str,
    side: str,
    quantity: int,
    take_profit: str,
    stop_price: str | None,
    trail: str | None,
    activation_price: str | None,
    stop_limit: str | None,
    url: str | None,
    api_key: str,
    as_json: bool,
) -> None:
    """Place a one-cancels-other pair (POST /v1/orders/oco): a take-profit limit and a stop (give
    --stop-price) or trailing stop (give --trail) of the same SIDE and QUANTITY of SYMBOL. When either
    trades or triggers, or is cancelled, the other is cancelled."""
    from api.cli import UserError

    if (stop_price is None) == (trail is None):
        raise UserError("give the stop leg a --stop-price or a --trail (one of them)")
    base = {"symbol": symbol, "side": side, "quantity": quantity}
    kind = ("trailing_stop" if trail is not None else "stop") + ("_limit" if stop_limit else "_market")
    stop = {"type": kind, "stop_price": stop_price, "trail": trail, "activation_price": activation_price}
    stop["price"] = stop_limit
    with api_client(url, api_key) as flopex:
        pair = flopex.place_oco(
            {**base, "price": take_profit}, {**base, **{k: v for k, v in stop.items() if v is not None}}
        )
    if as_json:
        _echo_json(pair)
    else:
        click.echo(f"link {pair.link_id}")
        _show_orders(pair.orders, as_json)


@command.command("batch")
@click.argument("source", type=click.File("r"))
@_remote
def batch_command(source: IO[str], url: str | None, api_key: str, as_json: bool) -> None:
    """Place the orders of SOURCE (a JSON file, or - for standard input) in one commit: a list of
    orders as ``POST /v1/orders`` takes them, or ``{"orders": [...]}``. Prints one outcome per order;
    exits with status 1 when any order was not accepted (the others stand)."""
    from api.cli import UserError

    try:
        loaded = json.load(source)
    except ValueError as exc:
        raise UserError(f"{source.name}: not JSON ({exc})") from None
    orders = loaded.get("orders") if isinstance(loaded, dict) else loaded
    if not isinstance(orders, list) or not all(isinstance(o, dict) for o in orders):
        raise UserError(f'{source.name}: expected a list of orders or {{"orders": [...]}}')
    with api_client(url, api_key) as flopex:
        batch = flopex.place_batch(orders)
    results = batch.results
    if as_json:
        _echo_json(batch)
    else:
        click.echo(f"{'#':>3}  {'outcome':<18} {'order':<28} detail")
        for result in results:
            order, error = result.order, result.error
            outcome = order.status if order is not None else "not accepted"
            detail = "" if error is None else f"{error.code}: {error.detail}"
            if error is not None and error.field:
                detail += f" ({error.field})"
            click.echo(f"{result.index:>3}  {outcome:<18} {order.id if order else '-':<28} {detail}".rstrip())
    refused = sum(r.error is not None for r in results)
    if refused:
        raise UserError(f"batch_partial: {refused} of {len(results)} orders not accepted")


@command.command("amend")
@click.argument("order_id")
@click.option("--quantity", type=int, default=None, help="New open quantity (lowering it keeps priority).")
@click.option("--price", default=None, help="New limit price, a decimal string.")
@_remote
def amend_command(
    order_id: str, quantity: int | None, price: str | None, url: str | None, api_key: str, as_json: bool
) -> None:
    """Change the open quantity and/or price of live order ORDER_ID (PATCH /v1/orders/ORDER_ID)."""
    from api.cli import UserError

    if quantity is None and price is None:
        raise UserError("give --quantity, --price or both")
    with api_client(url, api_key) as flopex:
        _show_orders(flopex.amend(order_id, quantity, price), as_json)


@command.command("cancel")
@click.argument("order_id")
@_remote
def cancel_command(order_id: str, url: str | None, api_key: str, as_json: bool) -> None:
    """Cancel order ORDER_ID (DELETE /v1/orders/ORDER_ID)."""
    with api_client(url, api_key) as flopex:
        _show_orders(flopex.cancel(order_id), as_json)


@command.command("cancel-all")
@click.option("--symbol", default=None, help="Only this instrument's orders (default: all of them).")
@_remote
def cancel_all_command(symbol: str | None, url: str | None, api_key: str, as_json: bool) -> None:
    """Cancel all your live orders, or those of --symbol (DELETE /v1/orders)."""
    with api_client(url, api_key) as flopex:
        cancelled = flopex.cancel_all(symbol)
    _show_orders({"cancelled": cancelled} if as_json else cancelled, as_json)


@command.command("list")
@click.option(
    "--status",
    type=click.Choice(("live", *ORDER_STATUSES)),
    default=None,
    help="live: open or partly filled.",
)
@click.option("--symbol", default=None, help="Only this instrument's orders.")
@click.option("--start", type=UTC_TIME, default=None, help="Placed from this UTC time.")
@click.option("--end", type=UTC_TIME, default=None, help="Placed before this UTC time.")
@click.option("--newest-first", is_flag=True, help="Newest order first (default: oldest first).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many orders.")
@_remote
def list_command(
    status: str | None,
    symbol: str | None,
    start: datetime | None,
    end: datetime | None,
    newest_first: bool,
    limit: int | None,
    url: str | None,
    api_key: str,
    as_json: bool,
) -> None:
    """List your orders, following the API's pages (GET /v1/orders)."""
    start, end = (None if when is None else when.replace(tzinfo=UTC) for when in (start, end))
    with api_client(url, api_key) as flopex:
        found = flopex.orders(status, symbol, start, end, "desc" if newest_first else "asc")
        _show_orders(list(islice(found, limit)), as_json)


@command.command("show")
@click.argument("order_id")
@_remote
def show_command(order_id: str, url: str | None, api_key: str, as_json: bool) -> None:
    """Show order ORDER_ID with its fills (GET /v1/orders/ORDER_ID)."""
    with api_client(url, api_key) as flopex:
        order = flopex.order(order_id)
    if as_json:
        _echo_json(order)
        return
    _show_orders(order, False)
    extra = {"time in force": order.time_in_force, "stp": order.stp, "reserved": order.reserved}
    extra |= {"stop price": order.stop_price, "expires": order.expire_at, "reason": order.reason}
    click.echo("  ".join(f"{name} {value}" for name, value in extra.items() if value is not None))
    for fill in order.fills:
        click.echo(
            f"  fill {fill.trade_id}: {fill.quantity} @ {fill.price} ({fill.liquidity}, fee {fill.fee}) "
            f"{fill.created_at.isoformat()}"
        )


@command.command("cancel-all-after")
@click.argument("seconds", type=click.IntRange(min=0))
@_remote
def cancel_all_after_command(seconds: int, url: str | None, api_key: str, as_json: bool) -> None:
    """Arm or renew the dead-man switch: cancel all your live orders SECONDS from now unless renewed;
    0 disarms it (POST /v1/orders/cancel-all-after)."""
    with api_client(url, api_key) as flopex:
        timer = flopex.cancel_all_after(seconds)
    if as_json:
        _echo_json(timer)
    elif timer.armed and timer.deadline is not None:
        click.echo(f"armed: cancels all your orders at {timer.deadline.isoformat()} unless renewed "
                   f"(timeout {timer.timeout} s)")  # fmt: skip
    else:
        click.echo("disarmed")


def _echo_json(value: Any) -> None:
    import msgspec

    click.echo(msgspec.json.format(msgspec.json.encode(value), indent=2).decode())


def _show_orders(response: Any, as_json: bool) -> None:
    """Print the API's ``response`` (an ``OrderOut``, a list of them) as JSON, or its orders as a
    table (one line each)."""
    if as_json:
        _echo_json(response)
        return
    orders = response if isinstance(response, list) else [response]
    if not orders:
        click.echo("no orders")
        return
    click.echo(
        f"{'id':<28} {'symbol':<22} {'side':<4} {'type':<20} {'price':>10} {'qty':>6} {'filled':>6} "
        f"{'open':>6}  {'status':<16} client id"
    )
    for o in orders:
        click.echo(
            f"{o.id:<28} {o.symbol:<22} {o.side:<4} {o.type:<20} {o.price or '-':>10} {o.quantity:>6} "
            f"{o.filled_quantity:>6} {o.open_quantity:>6}  {o.status:<16} {o.client_order_id or ''}".rstrip()
        )
