"""``flopex statement``: your account's statement from a running server -- one line per business
event with the running balance of your cash -- as a table or as CSV."""

from __future__ import annotations

import urllib.parse
from datetime import UTC, datetime

import click

from api.cli._http import base_url, get_text, key_option, send_json, url_option
from api.cli._options import UTC_TIME


@click.command(name="statement")
@url_option
@key_option
@click.option("--start", type=UTC_TIME, default=None, help="From this UTC time (default: the first event).")
@click.option("--end", type=UTC_TIME, default=None, help="Up to this UTC time, exclusive (default: now).")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (id,at,kind,ref,symbol,qty,amount,balance).")
def command(
    url: str | None, api_key: str, start: datetime | None, end: datetime | None, as_csv: bool
) -> None:
    """Your statement: deposits, fills and fees, settlements, delivery days paid or refunded, each
    with the cash it left you."""
    params = {
        name: None if when is None else when.replace(tzinfo=UTC).isoformat()
        for name, when in (("start", start), ("end", end))
    }
    base = base_url(url)
    if as_csv:
        click.echo(get_text(base, "/v1/statement.csv", api_key, **params), nl=False)
        return
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    found = send_json(base, "GET", "/v1/statement" + (f"?{query}" if query else ""), api_key)
    click.echo(f"{'':<26} {'opening balance':<22} {'':>16} {found['opening_balance']:>16}")
    for line in found["lines"]:
        traded = "" if line["quantity"] is None else f" {line['quantity']:+d}"
        what = f"{line['kind']} {line['symbol'] or line['ref'] or ''}{traded}".strip()[:40]
        click.echo(f"{line['at'][:25]:<26} {what:<40} {line['amount']:>16} {line['balance']:>16}")
    click.echo(f"{'':<26} {'closing balance':<22} {'':>16} {found['closing_balance']:>16}")
    if found["more"]:
        click.echo("(more lines: ask again with --start after the last one)")
