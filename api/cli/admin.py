"""``flopex admin``: accounts, keys, cash and the invariant check, straight against the database."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

from api.cli import UserError
from api.cli._http import api_client, key_option, url_option
from api.cli._options import database_option, exchange_clock, require_schema, resolve_database_url

T = TypeVar("T")


def _with_exchange(database_url: str | None, action: Callable[..., T]) -> T:
    """Run ``action(exchange)`` on the database, turning market refusals into one ``error:`` line."""
    import sqlalchemy as sa

    from market.db import make_engine
    from market.errors import MarketError
    from market.service import Exchange

    url = resolve_database_url(database_url)
    require_schema(url)
    engine = make_engine(url)
    try:
        return action(Exchange(engine, exchange_clock()))
    except MarketError as exc:
        raise UserError(f"{exc.code}: {exc.message}") from None
    except sa.exc.OperationalError as exc:
        raise UserError("cannot reach the database: " + " ".join(str(exc.orig).split())) from None
    finally:
        engine.dispose()


@click.group(name="admin")
def command() -> None:
    """Administer accounts, keys and cash; check the market's invariants."""


@command.command("create-account")
@database_option
@click.option("--name", required=True, help="Unique account name.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice(["admin", "provider", "trader"]),
    help="A role (repeat for several).",
)
def create_account(database_url: str | None, name: str, roles: tuple[str, ...]) -> None:
    """Create an account and print its id and API key (the key is shown this once)."""
    created = _with_exchange(database_url, lambda ex: ex.create_account(name, roles))
    click.echo(f"account {created.account.id}")
    click.echo(f"api key {created.api_key}")


def _amount(text: str) -> int:
    from market.errors import MarketError
    from market.units import dollars_to_micros

    try:
        return dollars_to_micros(text)
    except MarketError as exc:
        raise UserError(exc.message) from None


@command.command()
@database_option
@click.option("--account", "account_id", required=True, help="Account id.")
@click.option("--amount", required=True, help="USD amount as a decimal, e.g. 1000.50.")
@click.option(
    "--key", "idempotency_key", required=True, help="Idempotency key: resending it does nothing twice."
)
def deposit(database_url: str | None, account_id: str, amount: str, idempotency_key: str) -> None:
    """Credit cash to an account."""
    _transfer(database_url, "deposit", account_id, amount, idempotency_key)


@command.command()
@database_option
@click.option("--account", "account_id", required=True, help="Account id.")
@click.option("--amount", required=True, help="USD amount as a decimal.")
@click.option("--key", "idempotency_key", required=True, help="Idempotency key.")
def withdraw(database_url: str | None, account_id: str, amount: str, idempotency_key: str) -> None:
    """Pay available cash out of an account."""
    _transfer(database_url, "withdraw", account_id, amount, idempotency_key)


def _transfer(
    database_url: str | None, kind: str, account_id: str, amount: str, idempotency_key: str
) -> None:
    from market.records import Balances, TransferInfo
    from market.service import Exchange
    from market.units import micros_to_dollars

    micros = _amount(amount)

    def run(ex: Exchange) -> tuple[TransferInfo, Balances]:
        transfer = getattr(ex, kind)(account_id, micros, idempotency_key)
        return transfer, ex.balances(account_id)

    transfer, balances = _with_exchange(database_url, run)
    click.echo(f"{transfer.kind} {transfer.id}: {micros_to_dollars(transfer.amount_micros)} USD")
    click.echo(f"available {micros_to_dollars(balances.available)} USD")


def _account_id(ex: object, account: str) -> str:
    """An account id from an id or a name (``not_found`` when neither matches)."""
    from market.errors import NotFoundError

    for info in ex.accounts():  # type: ignore[attr-defined]
        if account in (info.id, info.name):
            return info.id
    raise NotFoundError(f"no account with id or name {account!r}", field="account")


@command.command("issue-key")
@database_option
@click.argument("account")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(["read", "trade", "transfer"]),
    help="What the key may do (repeat; default: every scope).",
)
def issue_key(database_url: str | None, account: str, scopes: tuple[str, ...]) -> None:
    """Issue a new API key for ACCOUNT (id or name) and print it (shown this once)."""
    from market.accounts import SCOPES

    issued = _with_exchange(
        database_url, lambda ex: ex.issue_api_key(_account_id(ex, account), scopes or SCOPES)
    )
    click.echo(f"account {issued.info.account_id}")
    click.echo(f"scopes {','.join(issued.info.scopes)}")
    click.echo(f"api key {issued.api_key}")


@command.command("list-keys")
@database_option
@click.argument("account", required=False)
def list_keys(database_url: str | None, account: str | None) -> None:
    """List the API keys of ACCOUNT (id or name; every account's when omitted), prefixes only."""
    listed = _with_exchange(
        database_url,
        lambda ex: ex.api_keys(None if account is None else _account_id(ex, account)),
    )
    for key in listed:
        state = "active" if key.revoked_at is None else f"revoked {key.revoked_at:%Y-%m-%dT%H:%M:%SZ}"
        click.echo(
            f"{key.prefix}  {key.account_id}  {','.join(key.scopes):<20} "
            f"created {key.created_at:%Y-%m-%dT%H:%M:%SZ}  {state}"
        )


@command.command("revoke-key")
@database_option
@click.option("--key", "key", required=True, help="The API key or its 12-character prefix.")
def revoke_key(database_url: str | None, key: str) -> None:
    """Revoke an API key."""
    _with_exchange(database_url, lambda ex: ex.revoke_api_key(key))
    click.echo("revoked")


@command.command()
@database_option
def check(database_url: str | None) -> None:
    """Check every invariant; prints each breach and exits non-zero if there is one."""
    problems = _with_exchange(database_url, lambda ex: ex.check())
    for problem in problems:
        click.echo(f"BREACH {problem}")
    if problems:
        raise SystemExit(1)
    click.echo("ok: every invariant holds")


@command.command("rebuild-book")
@database_option
@click.argument("symbol")
@click.option(
    "--yes", is_flag=True, help="Rebuild the book (cancelling its live orders) after showing the difference."
)
def rebuild_book(database_url: str | None, symbol: str, yes: bool) -> None:
    """Show how the stored book of SYMBOL differs from the replay of the command log; with --yes,
    rebuild a refused book: cancel its live orders (holds released), restart it empty.

    Run it with the server stopped: the rebuild takes the database's writer lock.
    """
    from market.house import utc_now
    from market.rebuild import BookDiff
    from market.service import Exchange
    from market.units import from_epoch_us
    from market.writer import WriterLock

    url = resolve_database_url(database_url)

    def show(ex: Exchange) -> BookDiff:
        diff = ex.book_diff(symbol)
        click.echo(f"book {symbol}: {'REFUSED' if diff.refused else 'agrees with its replay'}")
        if diff.diverging:
            click.echo(f"{diff.diverging} logged command(s) replay differently; the first:")
        for d in diff.divergences:
            click.echo(
                f"  command {d.command_id} at {from_epoch_us(d.created_us):%Y-%m-%dT%H:%M:%SZ}: {d.command}"
            )
            click.echo(f"    stored   {d.stored}")
            click.echo(f"    replayed {d.replayed}")
        for o in diff.orders:
            stored = "not live" if o.stored is None else f"{o.stored} open"
            replayed = "not resting" if o.replayed is None else f"{o.replayed} resting"
            click.echo(f"  order {o.order_id}: database {stored}, replay {replayed}")
        return diff

    if not yes:
        if _with_exchange(database_url, show).refused:
            click.echo(
                "nothing changed: run again with --yes to cancel the book's live orders and restart it"
            )
        return
    writer = WriterLock(url, "flopex admin rebuild-book", utc_now())

    def rebuild(ex: Exchange) -> None:
        writer.acquire()  # a running server holds this database's books: stop it first
        try:
            if not show(ex).refused:
                return
            ex.start()
            try:
                done = ex.rebuild_book(symbol)
            finally:
                ex.close()
        finally:
            writer.release()
        click.echo(
            f"rebuilt {symbol}: cancelled {len(done.cancelled)} order(s) {' '.join(done.cancelled)}".rstrip()
        )
        if done.dropped:
            click.echo(f"dropped from the replayed book: {' '.join(done.dropped)}")
        click.echo("the book is still refused" if done.refused else "the book trades again")

    _with_exchange(database_url, rebuild)


@command.command("move-book")
@click.argument("product")
@click.option("--to", "target", required=True, metavar="URL", help="The base URL of the shard taking them.")
@url_option
@key_option
def move_book(product: str, target: str, url: str | None, api_key: str) -> None:
    """Move PRODUCT's books to another live shard (asked of any process; an admin key)."""
    with api_client(url, api_key) as client:
        moved = client.move_book(product, target)
    click.echo(f"{moved.product}: now held by {moved.owner}")
