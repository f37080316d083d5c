"""``flopex delivery``: physical delivery from a running server -- your deliveries and a provider's
inventory, the access handle, days confirmed or disputed, and an admin's decision on a dispute."""

from __future__ import annotations

import json

import click

from api.cli._http import base_url, key_option, send_json, url_option


def _show(found: object) -> None:
    click.echo(json.dumps(found, indent=2))


@click.group(name="delivery")
def command() -> None:
    """Deliveries of physical GPU-hours: access handles, confirmations, disputes, inventory."""


@command.command("list")
@url_option
@key_option
def list_deliveries(url: str | None, api_key: str) -> None:
    """Your deliveries (as buyer or provider): one line each, with the days' states."""
    for item in send_json(base_url(url), "GET", "/v1/deliveries?limit=500", api_key)["items"]:
        days = " ".join(f"{d['day'][5:]}:{d['status']}" for d in item["days"])
        handle = item["access_handle"] or f"(no handle: {item['alert']})"
        region = item["region"] or "-"
        click.echo(f"{item['id']:>5} {item['symbol']:<16} {item['gpus']:>4} GPUs {region:<10} {handle}")
        click.echo(f"      {days}")


@command.command("show")
@url_option
@key_option
@click.argument("delivery_id", type=int)
def show(url: str | None, api_key: str, delivery_id: int) -> None:
    """One delivery as JSON (provider, region, GPUs, window, escrow, access handle, days)."""
    _show(send_json(base_url(url), "GET", f"/v1/deliveries/{delivery_id}", api_key))


_ENDPOINT = click.option("--endpoint", default=None, help="Where to connect (host:port, URL).")


@command.command("attach")
@url_option
@key_option
@click.argument("delivery_id", type=int)
@click.argument("handle")
@_ENDPOINT
def attach(url: str | None, api_key: str, delivery_id: int, handle: str, endpoint: str | None) -> None:
    """(Provider) attach or replace the access handle the buyer uses to reach the GPUs."""
    body = {"handle": handle, "endpoint": endpoint}
    _show(send_json(base_url(url), "POST", f"/v1/deliveries/{delivery_id}/access", api_key, body))


@command.command("attach-ahead")
@url_option
@key_option
@click.argument("listing_id", type=int)
@click.argument("symbol")
@click.argument("handle")
@_ENDPOINT
def attach_ahead(
    url: str | None, api_key: str, listing_id: int, symbol: str, handle: str, endpoint: str | None
) -> None:
    """(Provider) before SYMBOL's window starts, attach the handle for what LISTING_ID delivers there."""
    body = {"symbol": symbol, "handle": handle, "endpoint": endpoint}
    _show(send_json(base_url(url), "POST", f"/v1/listings/{listing_id}/access", api_key, body))


@command.command("upcoming")
@url_option
@key_option
def upcoming(url: str | None, api_key: str) -> None:
    """Your deliveries as they would be allocated if trading closed now (provisional until the
    window starts): provider, region, GPUs, window, escrow, the handle attached ahead."""
    _show(send_json(base_url(url), "GET", "/v1/deliveries/upcoming", api_key))


@command.command("confirm")
@url_option
@key_option
@click.argument("delivery_id", type=int)
@click.argument("day")
def confirm(url: str | None, api_key: str, delivery_id: int, day: str) -> None:
    """(Buyer) confirm DAY (YYYY-MM-DD) was delivered: its escrow goes to the provider."""
    _show(send_json(base_url(url), "POST", f"/v1/deliveries/{delivery_id}/days/{day}/confirm", api_key))


@command.command("dispute")
@url_option
@key_option
@click.argument("delivery_id", type=int)
@click.argument("day")
@click.option("--reason", required=True, help="What went wrong that day.")
def dispute(url: str | None, api_key: str, delivery_id: int, day: str, reason: str) -> None:
    """(Buyer) dispute DAY: its escrow stays held until an admin decides."""
    path = f"/v1/deliveries/{delivery_id}/days/{day}/dispute"
    _show(send_json(base_url(url), "POST", path, api_key, {"reason": reason}))


@command.command("resolve")
@url_option
@key_option
@click.argument("delivery_id", type=int)
@click.argument("day")
@click.option(
    "--uphold/--reject", required=True, help="Refund the buyer (and charge collateral) or pay the provider."
)
def resolve(url: str | None, api_key: str, delivery_id: int, day: str, uphold: bool) -> None:
    """(Admin) decide a disputed DAY."""
    path = f"/v1/admin/deliveries/{delivery_id}/days/{day}/resolve"
    _show(send_json(base_url(url), "POST", path, api_key, {"uphold": uphold}))


@command.command("inventory")
@url_option
@key_option
@click.argument("listing_id", type=int, required=False)
def inventory(url: str | None, api_key: str, listing_id: int | None) -> None:
    """(Provider) listed, sold, offered and free GPUs per forward, receivables and collateral, for
    one listing or all."""
    path = "/v1/listings/inventory" if listing_id is None else f"/v1/listings/{listing_id}/inventory"
    found = send_json(base_url(url), "GET", path, api_key)
    header = ("forward", "status", "listed", "sold", "offered", "free", "receivable")
    click.echo("{:<18} {:<8} {:>7} {:>6} {:>8} {:>6} {:>16}".format(*header))
    for line in found["forwards"]:
        click.echo(
            f"{line['symbol']:<18} {line['status']:<8} {line['listed']:>7} {line['sold']:>6} "
            f"{line['offered']:>8} {line['free']:>6} {line['receivable']:>16}"
        )
    click.echo(f"receivable {found['receivable']}  collateral {found['collateral']}")
