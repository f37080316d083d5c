"""``flopex index``: a product's reference index, read from a running ``flopex serve``."""

from __future__ import annotations

import json

import click

from api.cli._http import base_url, get_json, url_option
from api.cli._index_import import import_file


@click.group("index")
def command() -> None:
    """A product's index and the market model fitted to it."""


command.add_command(import_file)


@command.command("model")
@click.argument("product")
@url_option
@click.option("--json", "as_json", is_flag=True, help="Print the whole model document as JSON.")
def model(product: str, url: str | None, as_json: bool) -> None:
    """The market model behind PRODUCT's marks, margins and quotes: the model chosen by out-of-sample
    score (or the fallback rule and why), its parameters, score, candidates and calibration instant."""
    found = get_json(base_url(url), f"/v1/index/{product}/model")
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    click.echo(f"{found['product']}: {found['model']} ({found['source']})")
    if found["reason"]:
        click.echo(f"reason: {found['reason']}")
    click.echo(f"calibrated at {found['calibrated_at'] or '-'}; refreshed at {found['refreshed_at'] or '-'}")
    click.echo("params " + "  ".join(f"{k} {_fmt(v)}" for k, v in found["params"].items()))
    if found["ranking"]:
        click.echo(f"{'model':<16}{'CRPS':>10}{'pinball':>10}  coverage 50/80/90/95       n")
        for c in found["ranking"]:
            cov = "/".join(_fmt(c["coverage"].get(level)) for level in ("50", "80", "90", "95"))
            click.echo(f"{c['model']:<16}{_fmt(c['crps']):>10}{_fmt(c['pinball']):>10}  {cov:<24}{c['n']:>4}")


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if value is None:
        return "-"
    return str(value) if not isinstance(value, dict) else json.dumps(value)
