"""``flopex hedge plan|execute|show|replan|cancel|report``: the buyer's desk from the command line.

``plan`` and ``report`` run the planner locally; ``execute``, ``show``, ``replan`` and ``cancel`` ask a
running ``flopex serve`` with your API key (the books live in its process). See docs/hedging.md.
"""

from __future__ import annotations

import json
from datetime import datetime

import click

from api.cli._http import base_url, get_json, key_option, send_json, url_option
from api.cli._options import scheduler_option


@click.group("hedge")
def command() -> None:
    """Plan a hedge of a compute-usage forecast, execute and follow it, or measure the planner on real
    price history."""


@command.command("plan")
@click.argument("forecast", type=click.Path(dir_okay=False))
@click.option(
    "--market",
    "market_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Market snapshot JSON: valuation, a model per product, listed instruments with asks.",
)
@click.option(
    "--from-server",
    is_flag=True,
    help="Take the snapshot from a running flopex serve (--url): marks' model, offers in the books.",
)
@url_option
@click.option(
    "--list-series",
    is_flag=True,
    help="Also list month/week/day forwards and month caps priced off each product's model.",
)
@click.option(
    "--half-spread", default=0.005, show_default=True, help="Relative half-spread of --list-series asks."
)
@click.option("--valuation", default=None, help="Valuation instant (ISO 8601, UTC); default: the snapshot's.")
@click.option("--objective", type=click.Choice(["variance", "cvar"]), default="variance", show_default=True)
@click.option("--alpha", default=0.95, show_default=True, help="CVaR level.")
@click.option("--budget", type=float, default=None, help="Most USD of option premium plus margin.")
@click.option("--scenarios", default=2000, show_default=True, help="Monte Carlo scenarios for the optimiser.")
@click.option("--seed", default=0, show_default=True)
@click.option(
    "--out", type=click.Path(file_okay=False), default=None, help="Write plan.json, plots, report.html."
)
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def plan_command(
    forecast: str,
    market_file: str | None,
    from_server: bool,
    url: str | None,
    list_series: bool,
    half_spread: float,
    valuation: str | None,
    objective: str,
    alpha: float,
    budget: float | None,
    scenarios: int,
    seed: int,
    out: str | None,
    as_json: bool,
) -> None:
    """Plan the hedge of FORECAST (CSV or JSON usage) against a market snapshot."""
    from tqdm import tqdm

    from api.cli import UserError
    from pricing.hedging import HedgeInputError, PlanningError, PlanSettings, build_market, parse_market, plan
    from pricing.hedging.errors import instant
    from pricing.hedging.forecast import read_forecast
    from pricing.hedging.listing import standard_series
    from pricing.hedging.plan import STAGES
    from pricing.request import RequestError

    try:
        usage = read_forecast(forecast)
        moment = instant(valuation, "--valuation") if valuation else None
        if from_server == (market_file is not None):
            raise UserError("give either --market FILE or --from-server")
        data = (
            _json(market_file) if market_file else server_snapshot(base_url(url), usage.products, usage.end)
        )
        snapshot = parse_market(data, "market", moment)
        if list_series:
            specs = data["models"]
            extra = tuple(
                item
                for product in usage.products
                if product in snapshot.models
                for item in standard_series(
                    product,
                    snapshot.model(product),
                    specs[product],
                    snapshot.valuation,
                    usage.end,
                    half_spread=half_spread,
                )
            )
            snapshot = build_market(snapshot.valuation, snapshot.models, snapshot.instruments + extra)
        settings = PlanSettings(
            objective=objective,
            alpha=alpha,
            budget=budget,
            scenarios=scenarios,  # type: ignore[arg-type]
            evaluation_scenarios=2 * scenarios,
            seed=seed,
        )
        with tqdm(total=len(STAGES), desc="planning", unit="stage", disable=None) as bar:

            def advance(stage: str) -> None:
                bar.set_postfix_str(stage)
                bar.update(1)

            result = plan(usage, snapshot, settings, progress=advance)
    except (HedgeInputError, RequestError, PlanningError) as exc:
        raise UserError(str(exc)) from None
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        _print_plan(result)
    if out:
        click.echo(f"report: {result.save(out) / 'report.html'}")


def server_snapshot(base: str, products: tuple[str, ...], end: datetime) -> dict:
    """A market snapshot (``parse_market`` form) from a running server: each product's model from the
    mark of its first open forward, and every open instrument delivering before ``end`` that has an
    offer, at its best ask (depth: that level), with its mark as fair value and, for cash-settled
    forwards, the margin a long GPU holds."""
    models: dict[str, dict] = {}
    instruments: list[dict] = []
    valuation = None
    for product in products:
        listed, cursor = [], None
        while True:
            page = get_json(base, "/v1/instruments", product=product, status="open", cursor=cursor, limit=500)
            listed += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        forwards = [i for i in listed if i["kind"] == "forward"]
        if not forwards:
            continue
        mark = get_json(base, f"/v1/instruments/{forwards[0]['symbol']}/quote")
        models[product], valuation = mark["model"], valuation or mark["as_of"]
        as_of = datetime.fromisoformat(mark["as_of"])
        for item in listed:
            if not as_of <= datetime.fromisoformat(item["window_start"]) < end:
                continue
            asks = get_json(base, f"/v1/instruments/{item['symbol']}/book", depth=1)["asks"]
            if not asks:
                continue
            fair = get_json(base, f"/v1/instruments/{item['symbol']}/quote")["fair_value"]
            kind = {"forward": "forward", "asian": "asian", "option": "european"}[item["kind"]]
            cash = kind == "forward" and item["settlement"] == "cash"
            entry = {
                "symbol": item["symbol"], "product": product, "kind": kind, "start": item["window_start"],
                "end": item["window_end"], "ask": float(asks[0][0]), "fair": float(fair),
                "max_gpus": asks[0][1] * item["lot_gpus"],
                "margin": float(item["margin_per_lot"]) / item["lot_gpus"] if cash else 0.0,
            }  # fmt: skip
            if kind != "forward":
                entry |= {"option_kind": item["option_kind"], "strike": float(item["strike"])}
            if kind == "european":
                entry["expiry"] = item["expiry"]
            instruments.append(entry)
    if not models:
        from api.cli import UserError

        raise UserError(f"the server lists no open forward of {', '.join(products)}")
    return {"valuation": valuation, "models": models, "instruments": instruments}


def _json(path: str) -> dict:
    from api.cli import UserError

    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: {exc}") from None


def _print_plan(result) -> None:
    click.echo(f"{'symbol':<24}{'gpus':>6}{'ask':>10}{'fair':>10}{'spread $':>12}{'premium $':>12}")
    for p in result.positions:
        click.echo(
            f"{p.symbol:<24}{p.gpus:>6}{p.ask:>10.4f}{p.fair:>10.4f}{p.spread:>12,.0f}{p.premium:>12,.0f}"
        )
    for name in ("unhedged", "hedged"):
        d = getattr(result, name)
        click.echo(
            f"{name:<9} bill: mean {d.mean:,.0f}  sd {d.std:,.0f}  95% {d.q95:,.0f}  CVaR {d.cvar:,.0f}"
        )
    c = result.cost
    click.echo(
        f"variance reduction {result.variance_reduction:.1%}; hedge cost: spread {c.spread:,.0f}, "
        f"premium {c.premium:,.0f}, margin {c.margin:,.0f}"
        + (" (budget binding)" if c.budget_binding else "")
    )


@command.command("execute")
@click.argument("source", type=click.Path(dir_okay=False, exists=True))
@url_option
@key_option
@click.option(
    "--forecast",
    "is_forecast",
    is_flag=True,
    help="SOURCE is a usage forecast (CSV or JSON) for the exchange to plan, not a plan.json.",
)
@click.option("--objective", type=click.Choice(["variance", "cvar"]), default="variance", show_default=True)
@click.option("--alpha", default=0.95, show_default=True, help="CVaR level (--forecast).")
@click.option("--budget", default=None, help="Most USD of option premium plus margin (--forecast).")
@click.option("--scenarios", default=2000, show_default=True, help="Planner scenarios (--forecast).")
@click.option("--seed", default=0, show_default=True)
@click.option("--max-slippage-bps", default=100, show_default=True, help="Most a limit exceeds the mark.")
@click.option(
    "--means",
    type=click.Choice(["refuse", "scale"]),
    default="refuse",
    show_default=True,
    help="Short of cash: refuse the hedge, or buy the same share of every leg.",
)
@click.option("--idempotency-key", default=None, help="Resending with the same key executes nothing twice.")
@click.option("--json", "as_json", is_flag=True, help="Print the hedge as JSON.")
def execute_command(
    source: str,
    url: str | None,
    api_key: str,
    is_forecast: bool,
    objective: str,
    alpha: float,
    budget: str | None,
    scenarios: int,
    seed: int,
    max_slippage_bps: int,
    means: str,
    idempotency_key: str | None,
    as_json: bool,
) -> None:
    """Turn SOURCE into orders at a running server: a plan.json of ``flopex hedge plan`` (its positions),
    or with --forecast a usage forecast the exchange plans against its books (POST /v1/hedges)."""
    from api.cli import UserError

    body: dict = {"max_slippage_bps": max_slippage_bps, "means": means}
    if is_forecast:
        from pricing.hedging import HedgeInputError, read_forecast

        try:
            forecast = read_forecast(source).to_json()
        except HedgeInputError as exc:
            raise UserError(str(exc)) from None
        plan = {
            "forecast": forecast,
            "objective": objective,
            "alpha": alpha,
            "scenarios": scenarios,
            "seed": seed,
        }
        body["plan"] = plan | ({"budget": budget} if budget is not None else {})
    else:
        positions = _json(source).get("positions")
        if not isinstance(positions, list) or not positions:
            raise UserError(f"{source}: no positions to execute (write one with flopex hedge plan --out)")
        try:
            body["positions"] = [
                {"symbol": p["symbol"], "gpus": p["gpus"]} for p in positions if p["gpus"] > 0
            ]
        except (KeyError, TypeError):
            raise UserError(f"{source}: every position needs a symbol and gpus") from None
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
    _show(send_json(base_url(url), "POST", "/v1/hedges", api_key, body, headers), as_json)


@command.command("show")
@click.argument("hedge_id", type=int, required=False)
@url_option
@key_option
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def show_command(hedge_id: int | None, url: str | None, api_key: str, as_json: bool) -> None:
    """Show hedge HEDGE_ID (its legs, orders, fills, cost and what is left), or list your hedges."""
    base = base_url(url)
    if hedge_id is not None:
        _show(send_json(base, "GET", f"/v1/hedges/{hedge_id}", api_key), as_json)
        return
    cursor, hedges = None, []
    while True:
        query = "?limit=100" + (f"&cursor={cursor}" if cursor else "")
        page = send_json(base, "GET", f"/v1/hedges{query}", api_key)
        hedges += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    if as_json:
        click.echo(json.dumps(hedges, indent=2))
        return
    for h in hedges:
        click.echo(
            f"hedge {h['id']:<6} {h['status']:<11} {h['source']:<9} cost {h['cost']:>16}  "
            f"filled {h['filled_gpu_hours']:,} of {h['target_gpu_hours']:,} GPU-h"
        )


@command.command("replan")
@click.argument("hedge_id", type=int)
@url_option
@key_option
@click.option("--max-slippage-bps", type=int, default=None, help="Default: the hedge's.")
@click.option("--json", "as_json", is_flag=True, help="Print the hedge as JSON.")
def replan_command(
    hedge_id: int, url: str | None, api_key: str, max_slippage_bps: int | None, as_json: bool
) -> None:
    """Place what is left of hedge HEDGE_ID at fresh limits (re-planning a forecast hedge first)."""
    body = {} if max_slippage_bps is None else {"max_slippage_bps": max_slippage_bps}
    _show(send_json(base_url(url), "POST", f"/v1/hedges/{hedge_id}/replan", api_key, body), as_json)


@command.command("cancel")
@click.argument("hedge_id", type=int)
@url_option
@key_option
@click.option("--json", "as_json", is_flag=True, help="Print the hedge as JSON.")
def cancel_command(hedge_id: int, url: str | None, api_key: str, as_json: bool) -> None:
    """Cancel the resting orders of hedge HEDGE_ID (what is filled stays bought)."""
    _show(send_json(base_url(url), "DELETE", f"/v1/hedges/{hedge_id}", api_key), as_json)


def _show(hedge: dict, as_json: bool) -> None:
    """Print a hedge as the server returned it (``HedgeOut``)."""
    if as_json:
        click.echo(json.dumps(hedge, indent=2))
        return
    click.echo(
        f"hedge {hedge['id']}: {hedge['status']} ({hedge['source']}, round {hedge['rounds']}, "
        f"scale {float(hedge['scale']):.0%}, limits <= mark + {hedge['max_slippage_bps']} bp)"
    )
    click.echo(f"{'symbol':<24}{'target':>8}{'filled':>8}{'open':>6}{'avg price':>11}{'cost $':>14}")
    for leg in hedge["legs"]:
        click.echo(
            f"{leg['symbol']:<24}{leg['target_quantity']:>8}{leg['filled_quantity']:>8}{leg['open_quantity']:>6}"
            f"{leg['average_price'] or '-':>11}{float(leg['cost']):>14,.2f}"
        )
    for order in hedge["orders"]:
        state = order["refused"] or (order["order"]["status"] if order["order"] else "-")
        click.echo(
            f"  round {order['round']} {order['symbol']} buy {order['quantity']} "
            f"@ {order['limit_price']}: {state}"
        )
    click.echo(
        f"cost to date {float(hedge['cost']):,.2f} + fees {float(hedge['fees']):,.2f}; "
        f"held by resting orders {float(hedge['reserved']):,.2f}; "
        f"{hedge['remaining_gpu_hours']:,} of {hedge['target_gpu_hours']:,} GPU-h still to buy"
    )
    if hedge["unhedged_gpu_hours"] is not None:
        click.echo(
            f"expected usage {hedge['expected_usage_gpu_hours']:,.0f} GPU-h, "
            f"{hedge['unhedged_gpu_hours']:,.0f} not locked by filled forwards"
        )


@command.command("report")
@click.argument("data", type=click.Path(file_okay=False, exists=True))
@click.option(
    "--products",
    default="H100,H200,B200,A100",
    show_default=True,
    help="Products, each read from its gpu-price-tracker file in DATA.",
)
@click.option("--horizon", default="3d", show_default=True, help="Days hedged after each origin.")
@click.option("--step", default="1d", show_default=True, help="Time between origins.")
@click.option("--train", default="3d", show_default=True, help="Trailing prices the model is fitted to.")
@click.option("--gpus", default=64.0, show_default=True, help="Expected GPUs used every hour.")
@click.option("--usage-spread", default=0.2, show_default=True, help="10-90% usage band, relative.")
@click.option("--half-spread", default=0.005, show_default=True, help="Relative half-spread of the forwards.")
@click.option("--objective", type=click.Choice(["variance", "cvar"]), default="variance", show_default=True)
@click.option("--scenarios", default=1000, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--max-gap", default="6h", show_default=True, help="Longest gap filled with the last price.")
@click.option("--out", type=click.Path(file_okay=False), required=True)
@scheduler_option
def report_command(
    data: str,
    products: str,
    horizon: str,
    step: str,
    train: str,
    gpus: float,
    usage_spread: float,
    half_spread: float,
    objective: str,
    scenarios: int,
    seed: int,
    max_gap: str,
    out: str,
    scheduler: str | None,
) -> None:
    """Hedge effectiveness on real history: the planner on rolling origins over the price files in DATA.

    Every (product, origin) plan is one task: with --scheduler they run on Dask, with the same
    results as here in one process (each origin carries its own seed).
    """
    from pathlib import Path

    from tqdm import tqdm

    from api.cli import UserError
    from pricing.hedging.effectiveness import TRACKER_FILES, StudySettings, origins, run
    from pricing.series import SeriesError, duration, load_series, resample

    names = [p.strip() for p in products.split(",") if p.strip()]
    unknown = [p for p in names if p not in TRACKER_FILES]
    if unknown:
        raise UserError(f"unknown product {unknown[0]!r}: use {', '.join(TRACKER_FILES)}")
    settings = StudySettings(
        horizon=horizon,
        step=step,
        train=train,
        gpus=gpus,
        usage_spread=usage_spread,
        half_spread=half_spread,
        objective=objective,
        scenarios=scenarios,
        seed=seed,
    )  # type: ignore[arg-type]
    try:
        prices = {
            p: resample(load_series(Path(data) / TRACKER_FILES[p]), "1h", max_gap=max_gap) for p in names
        }
        total = sum(
            len(origins(s, duration(horizon), duration(step), duration(train))) for s in prices.values()
        )
        with tqdm(total=total, desc="hedge origins", unit="plan", disable=None) as bar:
            result = run(prices, settings, bar.update, scheduler=scheduler)
    except (SeriesError, ValueError) as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:  # the scheduler could not be reached
        raise UserError(f"scheduler: {exc}") from None
    click.echo(result.summary.to_string(index=False, float_format=lambda v: f"{v:,.4g}"))
    click.echo(f"report: {result.save(out) / 'report.html'}")
