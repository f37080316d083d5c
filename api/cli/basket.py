"""``flopex basket create|list|show|nav|authorise|create-units|redeem|wind-up``: basket funds on the
exchange, straight against the database (docs/baskets.md; over HTTP: ``/v1/baskets``)."""

from __future__ import annotations

from typing import IO, Any

import click

from api.cli import UserError
from api.cli._exchange import open_exchange
from api.cli._options import database_option


def _exchange(database_url: str | None, *, books: bool) -> Any:
    return open_exchange(database_url, books=books, who="flopex basket")


def _json(value: Any) -> str:
    import msgspec

    return msgspec.json.format(msgspec.json.encode(value)).decode()


def _line(fund: Any) -> str:
    legs = " + ".join(f"{leg.lots} {leg.symbol}" for leg in fund.legs)
    return (
        f"{fund.symbol} ({fund.status}): {legs} per unit; {fund.units} units; fees {fund.fee_ppm} ppm cash, "
        f"{fund.in_kind_fee_ppm} ppm in kind; participants {', '.join(fund.participants) or '-'}"
    )


@click.group("basket")
def command() -> None:
    """Basket funds: units holding a fixed strip of forwards, NAV, creation and redemption."""


@command.command("create")
@database_option
@click.argument("terms", type=click.File("r"))
def create(database_url: str | None, terms: IO[str]) -> None:
    """Define a fund from TERMS ("-" reads stdin: the JSON body of POST /v1/baskets)."""
    import msgspec

    from api.schemas.baskets import BasketCreate

    try:
        body = msgspec.json.decode(terms.read(), type=BasketCreate, strict=True)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise UserError(f"invalid basket terms: {exc}") from None
    with _exchange(database_url, books=True) as ex:
        click.echo(_line(ex.create_basket(body.terms())))


@command.command("list")
@database_option
def list_baskets(database_url: str | None) -> None:
    """One line per fund."""
    with _exchange(database_url, books=False) as ex:
        for fund in ex.baskets():
            click.echo(_line(fund))


@command.command("show")
@database_option
@click.argument("symbol")
def show(database_url: str | None, symbol: str) -> None:
    """The fund as JSON (the body of GET /v1/baskets/{symbol})."""
    from api.schemas.baskets import BasketOut

    with _exchange(database_url, books=False) as ex:
        click.echo(_json(BasketOut.of(ex.basket(symbol))))


@command.command("nav")
@database_option
@click.option("--publish", is_flag=True, help="Store every active fund's NAV in its history.")
@click.argument("symbol", required=False)
def nav(database_url: str | None, publish: bool, symbol: str | None) -> None:
    """SYMBOL's NAV now as JSON; with --publish, every active fund's NAV, stored."""
    from api.schemas.baskets import NavOut

    if publish:
        with _exchange(database_url, books=True) as ex:
            click.echo(_json([NavOut.of(n) for n in ex.publish_navs()]))
        return
    if symbol is None:
        raise UserError("name a fund, or --publish")
    with _exchange(database_url, books=True) as ex:
        click.echo(_json(NavOut.of(ex.basket_nav(symbol))))


@command.command("authorise")
@database_option
@click.argument("symbol")
@click.argument("account_id")
def authorise(database_url: str | None, symbol: str, account_id: str) -> None:
    """Make ACCOUNT_ID an authorised participant of SYMBOL."""
    with _exchange(database_url, books=True) as ex:
        click.echo(_line(ex.authorise_participant(symbol, account_id)))


def _flow(
    database_url: str | None, action: str, symbol: str, account: str, units: int, cash: bool, key: str | None
) -> None:
    from api.schemas.baskets import FlowOut
    from market.baskets.records import FlowRequest

    request = FlowRequest(action, "cash" if cash else "in_kind", units, key)
    with _exchange(database_url, books=True) as ex:
        click.echo(_json(FlowOut.of(ex.basket_flow(account, symbol, request))))


flow_options = [
    click.option("--account", required=True, help="The authorised participant."),
    click.option("--cash", is_flag=True, help="In cash (the fund trades the strip) instead of in kind."),
    click.option("--key", default=None, help="Idempotency key: a repeat returns the first flow."),
    click.argument("symbol"),
    click.argument("units", type=click.IntRange(1)),
]


def _with(options: list) -> Any:
    def decorate(f: Any) -> Any:
        for option in reversed(options):
            f = option(f)
        return database_option(f)

    return decorate


@command.command("create-units")
@_with(flow_options)
def create_units(
    database_url: str | None, account: str, cash: bool, key: str | None, symbol: str, units: int
) -> None:
    """Create UNITS of SYMBOL for the participant: in kind (it delivers the strip) or --cash."""
    _flow(database_url, "create", symbol, account, units, cash, key)


@command.command("redeem")
@_with(flow_options)
def redeem(
    database_url: str | None, account: str, cash: bool, key: str | None, symbol: str, units: int
) -> None:
    """Redeem UNITS of SYMBOL for the participant: in kind (it receives the strip) or --cash."""
    _flow(database_url, "redeem", symbol, account, units, cash, key)


@command.command("wind-up")
@database_option
def wind_up(database_url: str | None) -> None:
    """Pay out every fund whose unit has expired and whose legs have all settled."""
    from market.units import micros_to_dollars

    with _exchange(database_url, books=True) as ex:
        done = ex.wind_up_baskets()
    for w in done:
        click.echo(f"{w.symbol} wound up: {w.units} units at NAV {micros_to_dollars(w.nav_micros)}")
    if not done:
        click.echo("no fund due")
