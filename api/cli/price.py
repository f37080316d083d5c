"""``flopex price FILE``: value a JSON pricing request (or a list of them) from a file or stdin."""

from __future__ import annotations

import json
import sys
from typing import IO, Any

import click

from api.cli._options import scheduler_option


def _format(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _table(result: dict[str, Any]) -> str:
    rows = [(key, _format(result[key])) for key in ("value", "std_error", "method", "paths", "forward")]
    if result["interval"] is not None:
        rows.insert(2, ("95%", " .. ".join(_format(x) for x in result["interval"])))
    errors = result["greeks_std_error"] or {}
    rows += [
        (name, _format(v) + (f" +/- {_format(errors[name])}" if name in errors else ""))
        for name, v in (result["greeks"] or {}).items()
    ]
    rows.append(("elapsed_ms", f"{result['elapsed_ms']:.1f}"))
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {text}" for name, text in rows)


@click.command("price")
@click.argument("file", type=click.File("r"))
@click.option("--pretty", is_flag=True, help="Print a human-readable table instead of JSON.")
@scheduler_option
def command(file: IO[str], pretty: bool, scheduler: str | None) -> None:
    """Price the JSON request in FILE ("-" reads stdin) and print the result as JSON.

    FILE holds one request object, or a list of them (priced in parallel, on Dask with --scheduler;
    a progress bar on stderr follows the requests when it is a terminal). The schema is in
    docs/pricing.md. A bad request, or one that cannot be valued accurately, prints
    "error: <field>: <reason>" and exits with status 2.
    """
    from api.cli import UserError
    from pricing import RequestError, price, price_many
    from pricing.distributed import scheduler_from_env

    try:
        scheduler = scheduler_from_env(scheduler)
    except ValueError as error:
        raise UserError(str(error)) from None
    try:
        data = json.load(file)
    except json.JSONDecodeError as error:
        click.echo(f"error: request: not valid JSON ({error})", err=True)
        sys.exit(2)
    try:
        results = price_many(data, scheduler=scheduler) if isinstance(data, list) else [price(data)]
    except RequestError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    except OSError as error:  # the scheduler could not be reached
        raise UserError(f"scheduler: {error}") from None
    if pretty:
        click.echo("\n\n".join(_table(r) for r in results))
    else:
        click.echo(json.dumps(results if isinstance(data, list) else results[0], indent=2))
