"""``flopex quote``: a strip quote for any window, from a running ``flopex serve``."""

from __future__ import annotations

import json

import click

from api.cli._http import base_url, get_json, url_option


@click.command("quote")
@click.option("--product", required=True, help="Product, e.g. H100.")
@click.option("--start", required=True, help="First hour delivered (ISO 8601 with offset, whole UTC hour).")
@click.option("--end", required=True, help="End of the window, exclusive.")
@click.option("--gpus", type=int, required=True, help="GPUs in every hour.")
@url_option
@click.option("--json", "as_json", is_flag=True, help="Print the quote as JSON.")
def command(product: str, start: str, end: str, gpus: int, url: str | None, as_json: bool) -> None:
    """Fair value, Greeks and bid/offer for GPUS GPUs of PRODUCT over [START, END), with the listed
    forwards that best replicate it and the residual basis (see docs/hedging.md)."""
    quote = get_json(base_url(url), "/v1/quote", product=product, start=start, end=end, gpus=gpus)
    if as_json:
        click.echo(json.dumps(quote, indent=2))
        return
    click.echo(
        f"{quote['product']} {quote['start']} -> {quote['end']}: {quote['gpus']} GPUs x {quote['hours']} h"
    )
    click.echo(f"fair {quote['fair_value']}  bid {quote['bid']}  ask {quote['ask']}  (USD per GPU-hour)")
    click.echo("greeks " + "  ".join(f"{k} {v:.4g}" for k, v in quote["greeks"].items()))
    for leg in quote["replication"]:
        source = "book" if leg["bid_from_book"] and leg["ask_from_book"] else "book/fair"
        click.echo(f"  {leg['symbol']:<20} x{leg['gpus']:<5} {leg['hours_in_window']:>5} h  "
                   f"bid {leg['bid']}  ask {leg['ask']}  ({source})")  # fmt: skip
    click.echo(f"uncovered {quote['uncovered_gpu_hours']} GPU-h; residual basis sd USD {quote['basis_std']}")
