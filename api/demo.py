"""``flopex serve --demo``: seed an empty database with a small, believable GPU-compute market.

What it creates, through the exchange service like any client would:

- products H100, H200, B200 and A100, each with 30 days of hourly index fixings (a deterministic
  synthetic series around a typical rental price, with a daily utilisation cycle);
- rolling forward series: physical forwards on H100, H200 and B200 (3 months, 4 weeks, 7 days) and
  cash-settled forwards on A100 (3 months), with European calls and puts on the first two A100 months
  whose options can still trade (a front month's options expire two business days before its
  delivery, so on the last days of a month they are skipped) and Asian calls on H100's front month,
  strikes around the mark;
- two providers whose listings cover the front month of H100, H200 and B200, offered in the month
  forward at the pricing core's fair value plus a spread (rounded up to the tick);
- two traders with cash, resting bids below the offers, and a few trades so books are not empty.

Each product's lifecycle plan (:data:`SCHEDULES`) matches what is seeded, so ``flopex serve`` rolls
the same series on as days pass. Every step is idempotent, so a seed that crashed part-way is
finished by the next run, which prints the keys; a complete demo, and a database whose accounts are
not the demo's, are left untouched. The clock is injected so the demo can be seeded as of
any instant (tests seed it on every day of a year).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from api.settings import Settings
from market.db import make_engine
from market.errors import NotFoundError
from market.lifecycle.schedule import SeriesPlan
from market.records import InstrumentInfo, OrderRequest
from market.service import Exchange, utc_now
from market.units import ticks_to_price
from pricing.calendar import business_days_before

PRODUCTS = {  # id: (description, typical USD per GPU-hour)
    "H100": ("NVIDIA H100 SXM 80 GB", 2.40),
    "H200": ("NVIDIA H200 SXM 141 GB", 3.30),
    "B200": ("NVIDIA B200 192 GB", 5.20),
    "A100": ("NVIDIA A100 SXM 80 GB", 1.30),
}
PHYSICAL = ("H100", "H200", "B200")
PROVIDERS = (("demo-cloud-a", 64, 40_000), ("demo-cloud-b", 32, 60_000))  # name, GPUs listed, spread (micros)
FIXING_DAYS = 30
DEPOSIT_MICROS = 5_000_000 * 1_000_000
COLLATERAL_SHARE = 0.10  # providers post a tenth of a GPU-day's rent at the typical price per GPU-day listed
OPTION_MONTHS = 2  # A100 months that carry European options
EXPIRY_BUSINESS_DAYS = 2  # the exchange's default: options expire two business days before delivery
SCHEDULES = {  # the lifecycle rolls these series on, as the demo lists them
    "H100": SeriesPlan(months=3, weeks=4, days=7, option_months=1),
    "H200": SeriesPlan(months=3, weeks=4, days=7, option_months=0),
    "B200": SeriesPlan(months=3, weeks=4, days=7, option_months=0),
    "A100": SeriesPlan(settlement="cash", months=3, weeks=0, days=0, option_months=OPTION_MONTHS),
}


def _fixings(level: float, now: datetime, rng: random.Random) -> list[tuple[datetime, int]]:
    """Hourly prices: a slow random walk around ``level`` plus a daily cycle peaking mid-afternoon UTC."""
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(days=FIXING_DAYS)
    log_level, series = math.log(level), []
    for hour in range(FIXING_DAYS * 24):
        log_level += rng.gauss(0.0, 0.01) + 0.02 * (math.log(level) - log_level)
        cycle = 0.04 * math.sin(2 * math.pi * (hour % 24 - 9) / 24)
        series.append((start + timedelta(hours=hour), round(math.exp(log_level + cycle) * 1e6)))
    return series


def _strikes(mark_micros: int, tick_micros: int) -> list[int]:
    """Strike ticks at 80 %, 90 %, 100 %, 110 % and 120 % of the mark, on a grid of 10 ticks."""
    step = 10 * tick_micros
    return sorted({max(1, round(mark_micros * m / step)) * 10 for m in (0.8, 0.9, 1.0, 1.1, 1.2)})


def _optionable(forwards: list[InstrumentInfo], now: datetime) -> list[InstrumentInfo]:
    """The first ``OPTION_MONTHS`` forwards whose European options would not already be expired."""
    tradeable = [f for f in forwards if business_days_before(f.window_start, EXPIRY_BUSINESS_DAYS) > now]
    return tradeable[:OPTION_MONTHS]


COMPLETE = ("demo-trader-1", "demo-a100-bid")
"""The account and client order id of the demo's last order: when it exists, the seed is complete."""


def seed_demo(
    settings: Settings, echo: Callable[[str], None], clock: Callable[[], datetime] = utc_now
) -> bool:
    """Seed the database of ``settings`` (or finish a seed that stopped half-way); prints the keys once.
    True if it seeded.

    Every step is idempotent -- accounts, products, instruments and listings are created when missing,
    fixings added once per product, deposits carry idempotency keys and orders client order ids -- so
    a run that crashed part-way is resumed by the next one. Keys of demo accounts created by the
    crashed run were never printed: they are revoked and new ones printed. A database with accounts
    but no demo admin is left untouched, and so is a complete demo (its keys were printed; ``flopex
    admin issue-key`` replaces a lost one). ``clock`` is the exchange clock the market is seeded at
    (the wall clock unless a test injects one).
    """
    engine = make_engine(settings.database_url)
    exchange = Exchange(engine, clock)
    try:
        names = {a.name: a.id for a in exchange.accounts()}
        if names and "demo-admin" not in names:
            echo("demo: this database already has accounts; nothing seeded")
            return False
        exchange.start()
        if names and _complete(exchange, names):
            echo(
                "demo: this database is already seeded (its keys were printed when it was); "
                "`flopex admin issue-key demo-trader-1` issues a new key"
            )
            return False
        if names:
            echo("demo: resuming a seed that stopped part-way; keys not printed before are replaced")
        keys, front = _seed(exchange, names)
        book = exchange.book(front, depth=1)
        ask = ticks_to_price(book.asks[0].price_ticks, book.tick_micros)
    finally:
        exchange.close()
        engine.dispose()
    _print_keys(settings, keys, front, ask, echo)
    return True


def _complete(ex: Exchange, names: dict[str, str]) -> bool:
    account, client_order_id = COMPLETE
    if account not in names:
        return False
    try:
        ex.order_by_client_id(names[account], client_order_id)
    except NotFoundError:
        return False
    return True


def _account(ex: Exchange, names: dict[str, str], name: str, role: str, keys: dict[str, str]) -> str:
    """The demo account ``name`` (created when missing) with a new key in ``keys``; keys a crashed run
    issued and never printed are revoked."""
    account_id = names.get(name)
    if account_id is None:
        created = ex.create_account(name, [role])
        keys[name] = created.api_key
        return created.account.id
    for key in ex.api_keys(account_id):
        if key.revoked_at is None:
            ex.revoke_api_key(key.prefix, account_id)
    keys[name] = ex.issue_api_key(account_id).api_key
    return account_id


def _once(ex: Exchange, account_id: str, client_order_id: str, request: OrderRequest) -> None:
    """Place ``request`` unless the account already placed an order with this client order id."""
    try:
        ex.order_by_client_id(account_id, client_order_id)
    except NotFoundError:
        ex.place_order(account_id, replace(request, client_order_id=client_order_id))


def _seed(ex: Exchange, names: dict[str, str]) -> tuple[dict[str, str], str]:
    """Create (or complete) the demo market; returns the API keys by account name and the H100 front
    month."""
    rng = random.Random(20270101)
    now = ex.now()
    keys: dict[str, str] = {}
    _account(ex, names, "demo-admin", "admin", keys)
    keys["admin"] = keys.pop("demo-admin")  # printed as "admin", as it always was
    known = {p.id for p in ex.products()}
    for product, (description, level) in PRODUCTS.items():
        if product not in known:
            collateral = round(level * 24 * COLLATERAL_SHARE * 1_000_000)
            ex.create_product(product, description, collateral_per_gpu_day_micros=collateral)
        ex.set_product_schedule(product, SCHEDULES[product])  # what the lifecycle keeps listed
        series = _fixings(level, now, rng)  # drawn for every product so each gets the same series
        if not ex.fixings(product, limit=1):
            ex.add_fixings(product, series, source="demo")
    fronts: dict[str, str] = {}
    for product in PHYSICAL:
        ex.create_series(product, months=3, weeks=4, days=7)
        forwards = ex.instruments(product=product, kind="forward")
        fronts[product] = next(i.symbol for i in forwards if i.window_kind == "month" and i.status == "open")
    ex.create_series("A100", months=3, weeks=0, days=0, settlement="cash")
    cash = [i for i in ex.instruments(product="A100", kind="forward") if i.status == "open"]
    ex.refresh_marks()

    listed = {i.underlying for i in ex.instruments() if i.underlying is not None}  # with options
    for forward in _optionable(cash, now):
        if forward.symbol in listed:
            continue
        mark = ex.mark(forward.symbol, greeks=False).fair_value_micros
        for strike in _strikes(mark, forward.tick_micros):
            for kind in ("call", "put"):
                ex.create_option(forward.symbol, kind, strike, expiry_business_days=EXPIRY_BUSINESS_DAYS)
    h100 = ex.instrument(fronts["H100"])
    if h100.symbol not in listed:
        for strike in _strikes(ex.mark(h100.symbol, greeks=False).fair_value_micros, h100.tick_micros):
            ex.create_option(h100.symbol, "call", strike, style="asian")
    ex.refresh_marks()

    for name, gpus, spread in PROVIDERS:
        provider = _account(ex, names, name, "provider", keys)
        ex.deposit(provider, DEPOSIT_MICROS, f"demo-collateral-{name}")  # what its listings post
        have = {listing.product for listing in ex.listings(provider)}
        for product in PHYSICAL:
            front = ex.instrument(fronts[product])
            if product not in have:
                ex.create_listing(provider, product, gpus, front.window_start, front.window_end)
            fair = ex.mark(front.symbol, greeks=False).fair_value_micros
            ask = -(-(fair + spread) // front.tick_micros)  # rounded up to the tick
            request = OrderRequest(front.symbol, "sell", gpus // front.lot_gpus, price_ticks=ask)
            _once(ex, provider, f"demo-ask-{product}", request)
    traders = []
    for index, name in enumerate(("demo-trader-1", "demo-trader-2")):
        traders.append(_account(ex, names, name, "trader", keys))
        ex.deposit(traders[-1], DEPOSIT_MICROS, f"demo-deposit-{index}")

    for product in PHYSICAL:
        symbol = fronts[product]
        best_ask = ex.book(symbol, depth=1).asks[0].price_ticks
        _once(ex, traders[0], f"demo-take-{product}", OrderRequest(symbol, "buy", 4, price_ticks=best_ask))
        for step, trader in enumerate(traders):  # resting bids below the offers
            bid = OrderRequest(symbol, "buy", 2 + step, price_ticks=best_ask - 50 * (step + 1))
            _once(ex, trader, f"demo-bid-{product}", bid)
    a100 = cash[0]
    fair = ex.mark(a100.symbol, greeks=False).fair_value_micros // a100.tick_micros
    _once(ex, traders[1], "demo-a100-ask", OrderRequest(a100.symbol, "sell", 5, price_ticks=fair + 20))
    _once(ex, traders[0], "demo-a100-take", OrderRequest(a100.symbol, "buy", 3, price_ticks=fair + 20))
    _once(ex, traders[0], COMPLETE[1], OrderRequest(a100.symbol, "buy", 5, price_ticks=fair - 20))
    return keys, fronts["H100"]


def _print_keys(
    settings: Settings, keys: dict[str, str], front: str, ask: str, echo: Callable[[str], None]
) -> None:
    base = f"http://{settings.host}:{settings.port}"
    echo("demo market seeded. API keys (shown once, keep them):")
    for name, key in keys.items():
        echo(f"  {name:<14} {key}")
    trader = keys["demo-trader-1"]
    echo("try:")
    echo(f"  curl -s {base}/v1/instruments/{front}/book")
    echo(f"  curl -s -H 'Authorization: Bearer {trader}' {base}/v1/me")
    echo(
        f"  curl -s -X POST -H 'Authorization: Bearer {trader}' -H 'Content-Type: application/json' "
        f'-d \'{{"symbol": "{front}", "side": "buy", "quantity": 1, "price": "{ask}"}}\' '
        f"{base}/v1/orders"
    )
