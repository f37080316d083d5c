"""The web interface end to end: a real ``flopex serve --demo`` and Debian's Chromium driven by
Playwright, with every host but loopback cut off.

Each page must load with no console error and no request leaving the machine; an order placed in
the ticket must appear in the book and in the open orders, and cancel from there; a provider's
listing must show its inventory; the pricing form must agree with ``flopex price``. One server and
one browser serve the whole module. Screenshots are taken of every page; with
``FLOPEX_UI_SCREENSHOTS=1`` they are written to ``docs/ui/`` (the pictures ``docs/ui.md`` shows),
otherwise to a temporary directory.

Needs Chromium and the ``playwright`` package (test extras); without them the module skips, unless
``FLOPEX_REQUIRE_BROWSER=1`` (CI), which turns the skip into a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from market import db
from market.records import OrderRequest
from market.service import Exchange
from tests.api.browser import headless_chromium, keep_local
from tests.api.live_server import FLOPEX, serving

CLOCK_START = "2027-03-10T09:00:00Z"
"""The demo market's day: mid-month, so its front month and options are far from expiry."""
DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "ui"


@dataclass
class Market:
    """The served demo market: an HTTP client, the demo's keys by account name, its H100 front month."""

    client: httpx.Client
    keys: dict[str, str]
    front: str
    browser: Any
    shots: Path

    def auth(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[name]}"}

    def admin(self) -> dict[str, str]:
        return self.auth(next(name for name in self.keys if "admin" in name))


def _demo_output(stdout: Any) -> tuple[dict[str, str], str]:
    """The keys and the front month ``flopex serve --demo`` printed before it started serving."""
    keys: dict[str, str] = {}
    for line in stdout:
        if line.startswith("try:"):
            break
        found = re.match(r"^\s+(\S+)\s+(flx_\S+)$", line)
        if found:
            keys[found[1]] = found[2]
    front = re.search(r"/v1/instruments/(\S+)/book", stdout.readline())
    assert front, "the demo printed no front month"
    assert "demo-trader-1" in keys, keys
    return keys, front[1]


def _backtest_report(directory: Path) -> None:
    """A report directory shaped like ``flopex backtest --out`` writes one (HTML, metrics, CSV)."""
    directory.mkdir(parents=True)
    (directory / "report.html").write_text(
        "<!doctype html><title>flopex backtest</title><style>h1{color:#333}</style>"
        "<h1>flopex backtest: H100 index</h1>"
    )
    (directory / "metrics.json").write_text(json.dumps({"models": ["gbm"], "ranking": ["gbm"]}))
    (directory / "forecasts.csv").write_text("origin,model,forecast\n2026-11-01,gbm,2.41\n")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module, every host but loopback cut off."""
    with headless_chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = DOCS_SHOTS if os.environ.get("FLOPEX_UI_SCREENSHOTS") == "1" else tmp_path_factory.mktemp("shots")
    where.mkdir(parents=True, exist_ok=True)
    return where


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory, browser: Any, shots: Path) -> Iterator[Market]:
    where = tmp_path_factory.mktemp("ui")
    reports = where / "reports"
    _backtest_report(reports / "bt-h100")
    database = f"sqlite:///{where / 'ui.db'}"
    # seeding the demo calibrates every product's model: slow on a busy machine, so wait longer
    demo = ("--demo", "--reports", str(reports))
    clock = {"FLOPEX_CLOCK_START": CLOCK_START}  # the exchange's clock, not the wall clock
    # the forms' pricing, stress and deal runs are charged in wall time, long on a busy machine
    clock["FLOPEX_PRICE_BUDGET"] = "100000"
    with serving(database, *demo, ready_within=240, env=clock) as (client, process):
        keys, front = _demo_output(process.stdout)
        yield Market(client, keys, front, browser, shots)


@dataclass
class Visit:
    """One browser tab on the interface, recording console errors and every request it tried."""

    market: Market
    page: Any
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)

    def open(self, fragment: str, section: str) -> None:
        """Go to ``#/fragment`` and wait until the view ``section`` has rendered."""
        self.page.evaluate(
            "f => { document.getElementById('view').dataset.ready = ''; location.hash = f; }", fragment
        )
        self.page.wait_for_selector(f"#view[data-ready='{section}']", timeout=30_000)

    def sign_in(self, name: str) -> None:
        self.page.fill("form.signin input[name=api_key]", self.market.keys[name])
        self.page.click("form.signin button[type=submit]")
        self.page.wait_for_selector(".session .who", timeout=15_000)

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.market.shots / f"{name}.png"), full_page=True)

    def assert_fits_a_phone(self) -> None:
        """The page as it is, laid out on a 390 px phone screen: nothing wider than the screen (wide
        tables scroll inside their panel); then back to the laptop's screen."""
        laptop = self.page.viewport_size
        self.page.set_viewport_size({"width": 390, "height": 844})
        try:
            overflow = self.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"the page is {overflow}px wider than a phone's screen"
        finally:
            self.page.set_viewport_size(laptop)

    def assert_clean(self) -> None:
        """No console error, no request beyond loopback, no problem shown on the page."""
        assert not self.errors, self.errors
        assert not self.outside, self.outside
        shown = self.page.locator(".problem").all_inner_texts()
        assert not shown, shown


def _visit(market: Market, **context: Any) -> Iterator[Visit]:
    ctx = market.browser.new_context(**context)
    page = ctx.new_page()
    visit = Visit(market, page)

    keep_local(ctx, page, visit.outside, visit.errors)
    page.goto(str(market.client.base_url))
    page.wait_for_selector("#view[data-ready='markets']", timeout=60_000)
    try:
        yield visit
    finally:
        ctx.close()


@pytest.fixture
def visit(market: Market) -> Iterator[Visit]:
    yield from _visit(market, viewport={"width": 1400, "height": 900})


def test_markets_page_shows_curve_index_instruments_and_chain(market: Market, visit: Visit) -> None:
    visit.open("/markets/H100", "markets")
    page = visit.page
    rows = "#instruments tr[data-symbol]"
    symbols = page.eval_on_selector_all(rows, "rows => rows.map(r => r.dataset.symbol)")
    listed = market.client.get("/v1/instruments", params={"product": "H100", "status": "open"}).json()
    assert set(symbols) == {i["symbol"] for i in listed["items"]}
    ticker = market.client.get(f"/v1/instruments/{market.front}/ticker").json()
    row = page.locator(f"#instruments tr[data-symbol='{market.front}'] td")
    assert row.nth(4).inner_text() == ticker["best_ask"]  # the Ask column
    assert row.nth(6).inner_text() == ticker["mark"]
    assert page.locator("#forward-curve canvas").count() > 0
    assert page.locator("#index-chart canvas").count() > 0
    assert "Asian" in page.locator("#option-chain").inner_text()
    visit.shot("markets")
    visit.open("/markets/A100", "markets")  # the cash-settled product carries European calls and puts
    chain = page.locator("#option-chain").inner_text()
    assert "European options" in chain
    assert "Put mark" in chain
    visit.assert_clean()


def test_markets_and_instrument_fit_a_phone_screen(market: Market) -> None:
    for visit in _visit(market, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True):
        visit.open("/markets/H100", "markets")
        overflow = visit.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is {overflow}px wider than the phone's screen"
        visit.shot("markets-phone")
        visit.open(f"/instrument/{market.front}", "instrument")
        overflow = visit.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the instrument page is {overflow}px wider than the phone's screen"
        visit.shot("instrument-phone")
        visit.assert_clean()


def test_ticket_order_reaches_the_book_and_open_orders_then_cancels(market: Market, visit: Visit) -> None:
    page, front = visit.page, market.front
    instrument = market.client.get(f"/v1/instruments/{front}").json()
    book = market.client.get(f"/v1/instruments/{front}/book").json()
    tick = Decimal(instrument["tick"])
    price = (Decimal(book["bids"][0][0]) - 37 * tick).quantize(tick)  # a level of its own, below the bids
    visit.sign_in("demo-trader-1")
    visit.open(f"/instrument/{front}", "instrument")

    page.fill("#order-ticket input[name=price]", str(price))
    page.fill("#order-ticket input[name=quantity]", "3")
    notional = int(price * 1_000_000) * instrument["lot_gpus"] * instrument["hours"]
    fee = notional * max(instrument["maker_fee_ppm"], instrument["taker_fee_ppm"]) // 1_000_000
    assert page.get_attribute("#ticket-hold strong", "data-micros") == str(3 * (notional + fee))
    visit.shot("instrument")
    page.click("#order-ticket button[type=submit]")
    order_id = page.get_attribute(".ticket-result .ok", "data-order-id", timeout=15_000)
    assert order_id

    placed = market.client.get(f"/v1/orders/{order_id}", headers=market.auth("demo-trader-1")).json()
    assert (placed["status"], placed["price"], placed["quantity"]) == ("open", str(price), 3)
    page.wait_for_selector(f"#ladder tr.bid[data-price='{price}']", timeout=15_000)  # via the stream
    assert page.locator(f"#ladder tr.bid[data-price='{price}'] td").nth(1).inner_text() == "3"
    page.wait_for_selector(f"#my-orders tr[data-order-id='{order_id}']", timeout=15_000)

    page.click(f"button[data-cancel='{order_id}']")
    page.wait_for_selector(f"#my-orders tr[data-order-id='{order_id}']", state="detached", timeout=15_000)
    page.wait_for_selector(f"#ladder tr.bid[data-price='{price}']", state="detached", timeout=15_000)
    cancelled = market.client.get(f"/v1/orders/{order_id}", headers=market.auth("demo-trader-1")).json()
    assert cancelled["status"] == "cancelled"

    visit.assert_clean()
    best_ask = market.client.get(f"/v1/instruments/{front}/book").json()["asks"][0][0]
    page.fill("#order-ticket input[name=price]", best_ask)
    page.check("#order-ticket input[name=post_only]")
    page.click("#order-ticket button[type=submit]")  # would take: the book refuses it
    problem = page.wait_for_selector(".ticket-result .problem", timeout=15_000)
    assert problem.get_attribute("data-code") == "post_only_would_take"
    refused = "Failed to load resource: the server responded with a status of 400 (Bad Request)"
    assert visit.errors == [refused]  # the browser's own log line of that 400, and nothing else

    page.uncheck("#order-ticket input[name=post_only]")
    page.select_option("#order-ticket select[name=type]", "market")  # IOC: takes the best ask
    page.fill("#order-ticket input[name=quantity]", "1")
    page.click("#order-ticket button[type=submit]")
    page.wait_for_selector(".ticket-result .ok", timeout=15_000)
    page.wait_for_selector(f"#candles[data-last-close='{best_ask}']", timeout=15_000)  # candles channel
    assert page.locator("#trades tbody tr").first.locator("td").nth(1).inner_text() == best_ask


def test_portfolio_amends_cancels_and_manages_keys(market: Market, visit: Visit) -> None:
    page, auth = visit.page, market.auth("demo-trader-2")
    live = market.client.get("/v1/orders", params={"status": "live"}, headers=auth).json()["items"]
    assert len(live) >= 2
    visit.sign_in("demo-trader-2")
    before = market.client.get("/v1/me", headers=auth).json()["balances"]["cash"]
    visit.open("/portfolio", "portfolio")
    page.wait_for_selector("#risk table", timeout=30_000)
    after = market.client.get("/v1/me", headers=auth).json()["balances"]["cash"]
    # the lifecycle's clearing pass may move variation margin while the page loads
    assert page.get_attribute("#balances [data-balance=cash] b", "title") in {before, after}
    shown = page.eval_on_selector_all("#orders tr[data-order-id]", "rows => rows.map(r => r.dataset.orderId)")
    assert set(shown) == {o["id"] for o in live}
    positions = market.client.get("/v1/positions", headers=auth).json()["items"]
    symbols = page.eval_on_selector_all(
        "#positions tr[data-symbol]", "rows => rows.map(r => r.dataset.symbol)"
    )
    assert set(symbols) == {p["symbol"] for p in positions if p["quantity"]}
    visit.shot("portfolio")
    visit.assert_fits_a_phone()

    target = next(o for o in live if o["open_quantity"] > 1)
    row = page.locator(f"#orders tr[data-order-id='{target['id']}']")
    row.locator("input[name=amend_quantity]").fill("1")
    row.locator(f"button[data-amend='{target['id']}']").click()
    page.wait_for_selector(
        f"#orders tr[data-order-id='{target['id']}'] input[name=amend_quantity][value='1']"
    )
    amended = market.client.get(f"/v1/orders/{target['id']}", headers=auth).json()
    assert amended["open_quantity"] == 1

    page.click("#cancel-all")
    page.wait_for_selector("#orders tr[data-order-id]", state="detached", timeout=15_000)
    assert market.client.get("/v1/orders", params={"status": "live"}, headers=auth).json()["items"] == []
    held = "#balances [data-balance='held by orders'] b"
    page.wait_for_function(f"document.querySelector(\"{held}\").title === '0.000000'", timeout=15_000)

    page.uncheck("#new-key-form input[value=trade]")
    page.check("#new-key-form input[value=read]")
    page.click("#new-key-form button[type=submit]")
    issued = page.wait_for_selector("#new-key code", timeout=15_000).inner_text()
    keys = market.client.get("/v1/me/keys", headers=auth).json()
    new = next(k for k in keys if issued.startswith(k["prefix"]))
    assert new["scopes"] == ["read"]
    page.click(f"button[data-revoke='{new['prefix']}']")
    page.wait_for_selector(f"#keys tr[data-prefix='{new['prefix']}'] button[data-revoke]", state="detached")
    keys = market.client.get("/v1/me/keys", headers=auth).json()
    assert next(k for k in keys if k["prefix"] == new["prefix"])["revoked_at"] is not None
    visit.assert_clean()


def test_provider_listing_shows_its_inventory(market: Market, visit: Visit) -> None:
    page, auth = visit.page, market.auth("demo-cloud-a")
    me = market.client.get("/v1/me", headers=auth).json()
    market.client.post(  # cash for any collateral a listing posts
        f"/v1/accounts/{me['account']['id']}/deposits",
        json={"amount": "100000"},
        headers=market.admin(),
    ).raise_for_status()
    months = [
        i
        for i in market.client.get("/v1/instruments", params={"product": "H100", "status": "open"}).json()[
            "items"
        ]
        if i["kind"] == "forward" and i["window_kind"] == "month" and i["symbol"] != market.front
    ]
    month = months[0]
    visit.sign_in("demo-cloud-a")
    visit.open("/provider", "provider")
    form = page.locator("#listing-form form")
    form.locator("select[name=product]").select_option("H100")
    form.locator("input[name=gpus]").fill("16")
    form.locator("input[name=start]").fill(month["window_start"][:16])
    form.locator("input[name=end]").fill(month["window_end"][:16])
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#listing-form .ok", timeout=15_000)
    listing = market.client.get("/v1/listings", headers=auth).json()["items"][-1]
    assert (listing["gpus"], listing["start"], month["symbol"] in listing["covers"]) == (
        16,
        month["window_start"],
        True,
    )
    page.wait_for_selector(f"#listings tr[data-listing='{listing['id']}']")

    def figures(box: str, symbol: str) -> list[str]:
        cells = page.locator(f"#{box} tr[data-symbol='{symbol}'] td").all_inner_texts()
        return cells[2:6]  # listed, sold, offered, free

    def expected(inventory: dict[str, Any], symbol: str) -> list[str]:
        line = next(line for line in inventory["forwards"] if line["symbol"] == symbol)
        return [str(line[k]) for k in ("listed", "sold", "offered", "free")]

    everything = market.client.get("/v1/listings/inventory", headers=auth).json()
    page.wait_for_selector(f"#inventory tr[data-symbol='{month['symbol']}']")
    assert (
        figures("inventory", month["symbol"])
        == expected(everything, month["symbol"])
        == ["16", "0", "0", "16"]
    )
    assert figures("inventory", market.front) == expected(everything, market.front)
    page.click(f"button[data-inventory='{listing['id']}']")  # the listing's own inventory
    page.wait_for_selector(f"#listing-inventory tr[data-symbol='{month['symbol']}']")
    own = market.client.get(f"/v1/listings/{listing['id']}/inventory", headers=auth).json()
    shown = page.eval_on_selector_all(
        "#listing-inventory tr[data-symbol]", "rows => rows.map(r => r.dataset.symbol)"
    )
    assert shown == [line["symbol"] for line in own["forwards"]]
    assert figures("listing-inventory", month["symbol"]) == ["16", "0", "0", "16"]
    ahead = page.locator(f"#listing-inventory tr[data-symbol='{month['symbol']}']")  # before the window
    handle = "ssh ops@h100-pool.example"
    ahead.locator("input[name=handle]").fill(handle)
    ahead.locator(f"button[data-ahead='{month['symbol']}']").click()
    page.wait_for_selector(f"#listing-inventory input[name=handle][value='{handle}']")
    attached = market.client.get(f"/v1/listings/{listing['id']}/access", headers=auth).json()
    assert [(a["symbol"], a["access_handle"]) for a in attached] == [(month["symbol"], handle)]

    row = page.locator(f"#listings tr[data-listing='{listing['id']}']")  # auto-offer, after listing
    row.locator("select[name=auto_offer]").select_option("reserve")
    row.locator("input[name=reserve_price]").fill("9.5")
    row.locator(f"button[data-auto-offer='{listing['id']}']").click()
    page.wait_for_selector(f"#inventory tr[data-symbol='{month['symbol']}'] td:nth-child(5):text-is('16')")
    changed = market.client.get(f"/v1/listings/{listing['id']}", headers=auth).json()
    assert (changed["auto_offer"], changed["reserve_price"]) == ("reserve", "9.500000")
    live = market.client.get("/v1/orders", params={"status": "live"}, headers=auth).json()["items"]
    asks = [o for o in live if o["client_order_id"].startswith(f"auto-{listing['id']}-")]
    placed = [(a["symbol"], Decimal(a["price"]), a["open_quantity"]) for a in asks]
    assert placed == [(month["symbol"], Decimal("9.5"), 16 // month["lot_gpus"])]
    everything = market.client.get("/v1/listings/inventory", headers=auth).json()
    shown = figures("inventory", month["symbol"])
    assert shown == expected(everything, month["symbol"]) == ["16", "0", "16", "0"]
    visit.shot("provider")
    visit.assert_fits_a_phone()
    visit.assert_clean()


def test_pricing_form_checks_as_you_type_and_matches_flopex_price(market: Market, visit: Visit) -> None:
    page = visit.page
    visit.sign_in("demo-trader-1")
    visit.open("/quant", "quant")
    form = page.locator("#price-form")
    form.locator("select[name=model_type]").select_option("schwartz_smith")
    form.locator("select[name=instrument_type]").select_option("asian")
    form.locator("input[name='model.sigma_chi']").fill("-0.8")  # refused as it is typed
    page.wait_for_selector("#price-errors li[data-field='model.sigma_chi']")
    assert form.locator("button[type=submit]").is_disabled()
    form.locator("input[name='model.sigma_chi']").fill("0.8")
    form.locator("input[name='request.paths']").fill("4096")
    form.locator("input[name='request.greeks']").uncheck()
    page.wait_for_selector("#price-errors li", state="detached")
    form.locator("button[type=submit]").click()
    value = page.get_attribute("#price-result .ok", "data-value", timeout=60_000)
    request = page.inner_text("#price-request")
    assert json.loads(request)["instrument"]["fixings"] == {"start": 0.0849, "end": 0.1667, "count": 31}

    cli = subprocess.run(
        [str(FLOPEX), "price", "-"], input=request, capture_output=True, text=True, timeout=120, check=True
    )
    assert float(value) == pytest.approx(json.loads(cli.stdout)["value"], rel=1e-12)
    visit.shot("quant")
    visit.assert_fits_a_phone()

    listed = market.client.get("/v1/reports").json()
    assert listed["configured"]
    assert [(r["name"], r["kind"]) for r in listed["items"]] == [("bt-h100", "backtest")]
    page.wait_for_selector("#reports tr[data-name='bt-h100']")
    frame = page.frame_locator("#report-viewer iframe")
    assert frame.locator("h1").inner_text(timeout=15_000) == "flopex backtest: H100 index"
    served = market.client.get("/v1/reports/bt-h100/report.html")
    assert served.headers["content-security-policy"].startswith("sandbox")  # its script never runs
    assert market.client.get("/v1/reports/bt-h100/..%2F..%2Fui.db").status_code in {400, 404}
    visit.assert_clean()


def test_desk_quotes_a_window_and_hedges_it(market: Market, visit: Visit) -> None:
    page, auth = visit.page, market.auth("demo-trader-1")
    visit.sign_in("demo-trader-1")
    visit.open("/desk", "desk")
    page.wait_for_selector("#strip-quote dl")
    legs = page.eval_on_selector_all("#strip-quote tbody tr", "rows => rows.map(r => r.cells[0].innerText)")
    start = page.input_value("#quote-form input[name=start]")
    end = page.input_value("#quote-form input[name=end]")
    quote = market.client.get(
        "/v1/quote", params={"product": "H100", "start": f"{start}:00Z", "end": f"{end}:00Z", "gpus": 64}
    ).json()
    assert legs == [leg["symbol"] for leg in quote["replication"]]
    page.click("#hedge-button")
    hedge_id = page.get_attribute("#strip-quote .ok", "data-hedge", timeout=30_000)
    hedge = market.client.get(f"/v1/hedges/{hedge_id}", headers=auth).json()
    assert {leg["symbol"] for leg in hedge["legs"]} == {
        leg["symbol"] for leg in quote["replication"] if leg["gpus"]
    }
    visit.shot("desk")
    page.click(f"button[data-cancel-hedge='{hedge_id}']")
    page.wait_for_selector(f"button[data-cancel-hedge='{hedge_id}']", state="detached", timeout=15_000)
    assert market.client.get(f"/v1/hedges/{hedge_id}", headers=auth).json()["status"] == "cancelled"
    visit.assert_clean()


def test_pools_page_shows_a_pool_its_notes_and_report(market: Market, visit: Visit) -> None:
    page, auth = visit.page, market.auth("demo-cloud-b")
    me = market.client.get("/v1/me", headers=auth).json()
    deposit = {"amount": "10000"}
    market.client.post(
        f"/v1/accounts/{me['account']['id']}/deposits", json=deposit, headers=market.admin()
    ).raise_for_status()
    listing = next(
        item
        for item in market.client.get("/v1/listings", headers=auth).json()["items"]
        if item["product"] == "H100"
    )
    body = {
        "code": "UIABS1",
        "name": "GPU capacity, the interface's test",
        "periods": 1,
        "notes": [
            {"tranche": "A", "face": "2000", "coupon": "0.06", "oc_trigger": "1.05"},
            {"tranche": "B", "face": "1000", "coupon": "0.12"},
        ],
        "fees_fixed": "5",
        "reserve_initial": "50",
        "reserve_target": "50",
        "lot_face": "100",
        "listing_ids": [listing["id"]],
        "start": listing["start"],
    }
    created = market.client.post("/v1/pools", json=body, headers=auth)
    assert created.status_code == 201, created.text
    pool = created.json()
    visit.sign_in("demo-trader-1")
    visit.open(f"/pools/{pool['id']}", "pools")
    page.wait_for_selector(f"#pools tr[data-pool='{pool['id']}']")
    notes = page.eval_on_selector_all("#pool tr[data-note]", "rows => rows.map(r => r.dataset.note)")
    assert notes == [note["symbol"] for note in pool["notes"]]
    assert "No period serviced yet" in page.inner_text("#pool")
    visit.shot("pools")
    visit.assert_clean()


DELIVERY_WEEK = datetime(2027, 3, 15, tzinfo=UTC)
"""A Monday: the week forward and the first day forward of the delivering market start then."""


@pytest.fixture(scope="module")
def delivering(
    tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path, browser: Any, shots: Path
) -> Iterator[Market]:
    """A small market already delivering, served with its clock two hours into the week.

    Before the window, a provider lists 4 GPUs for the week and sells 2 in the week forward and 2 in
    its first day forward to one buyer; delivery starts at the window's start, so the buyer holds two
    deliveries whose first day (today, on the served clock) is pending, neither with an access handle.
    The demo's pinned day never reaches a delivery, so this market is built directly and served
    without the demo (seconds, not minutes)."""
    where = tmp_path_factory.mktemp("delivering") / "flopex.db"
    shutil.copyfile(_sqlite_template, where)
    url = f"sqlite:///{where}"
    engine = db.make_engine(url)
    now = [DELIVERY_WEEK - timedelta(days=3)]
    ex = Exchange(engine, clock=lambda: now[0])
    ex.start()
    keys: dict[str, str] = {}
    try:
        for name, role in (("admin", "admin"), ("cloud", "provider"), ("lab", "trader")):
            keys[name] = ex.create_account(name, [role]).api_key
        buyer = ex.key_holder(keys["lab"]).account.id
        ex.deposit(buyer, 10_000_000_000, "seed")
        ex.create_product("H100", region="eu-west")
        hours = [DELIVERY_WEEK - timedelta(days=3, hours=h) for h in range(48, 0, -1)]
        ex.add_fixings("H100", [(at, 2_400_000) for at in hours], source="test")
        week = ex.create_forward("H100", "week", DELIVERY_WEEK).symbol
        day = ex.create_forward("H100", "day", DELIVERY_WEEK).symbol
        provider = ex.key_holder(keys["cloud"]).account.id
        ex.create_listing(provider, "H100", 4, DELIVERY_WEEK, DELIVERY_WEEK + timedelta(days=7))
        for symbol in (week, day):
            for who, side in ((provider, "sell"), (buyer, "buy")):
                ex.place_order(who, OrderRequest(symbol=symbol, side=side, qty=2, price_ticks=2000))
        now[0] = DELIVERY_WEEK + timedelta(minutes=1)
        ex.settle()  # delivery starts
    finally:
        ex.close()
        engine.dispose()
    clock = {"FLOPEX_CLOCK_START": (DELIVERY_WEEK + timedelta(hours=2)).isoformat()}
    with serving(url, ready_within=240, env=clock) as (client, _):
        yield Market(client, keys, week, browser, shots)


def test_delivery_confirmed_disputed_and_given_access_from_the_pages(delivering: Market) -> None:
    market = delivering
    today = DELIVERY_WEEK.date().isoformat()
    buyer, provider = market.auth("lab"), market.auth("cloud")
    deliveries = market.client.get("/v1/deliveries", headers=buyer).json()["items"]
    by_symbol = {d["symbol"]: d["id"] for d in deliveries}
    assert len(by_symbol) == 2, deliveries
    week, day = by_symbol[market.front], next(i for s, i in by_symbol.items() if s != market.front)

    for visit in _visit(market, viewport={"width": 1400, "height": 900}):
        page = visit.page
        visit.sign_in("cloud")
        visit.open("/provider", "provider")
        row = page.locator(f"#provider-deliveries tr[data-delivery='{week}']")
        row.locator("input[name=handle]").fill("ssh gpu@h100-7.eu-west")
        row.locator(f"button[data-attach='{week}']").click()
        handle = "input[name=handle][value='ssh gpu@h100-7.eu-west']"
        page.wait_for_selector(f"#provider-deliveries tr[data-delivery='{week}'] {handle}")
        attached = market.client.get(f"/v1/deliveries/{week}", headers=provider).json()
        assert attached["access_handle"] == "ssh gpu@h100-7.eu-west"
        visit.shot("provider-deliveries")
        visit.assert_clean()

    for visit in _visit(market, viewport={"width": 1400, "height": 900}):
        page = visit.page
        visit.sign_in("lab")
        visit.open("/portfolio", "portfolio")
        assert page.inner_text(f"#deliveries tr[data-delivery='{week}'] code") == "ssh gpu@h100-7.eu-west"
        page.click(f"button[data-confirm='{week}/{today}']")
        page.wait_for_selector(f"button[data-confirm='{week}/{today}']", state="detached", timeout=15_000)
        row = page.locator(f"#deliveries tr[data-delivery='{day}']")
        row.locator(f"[data-day='{today}'] input[name=reason]").fill("no GPUs answered")
        row.locator(f"button[data-dispute='{day}/{today}']").click()
        page.wait_for_selector(f"button[data-dispute='{day}/{today}']", state="detached", timeout=15_000)
        shown = page.inner_text(f"#deliveries tr[data-delivery='{day}'] [data-day='{today}']")
        assert "disputed" in shown
        assert "no GPUs answered" in shown

        confirmed = market.client.get(f"/v1/deliveries/{week}", headers=buyer).json()["days"][0]
        disputed = market.client.get(f"/v1/deliveries/{day}", headers=buyer).json()["days"][0]
        assert (confirmed["day"], confirmed["status"]) == (today, "confirmed")
        assert (disputed["status"], disputed["reason"]) == ("disputed", "no GPUs answered")

        # the statement shows the escrow paid in, line by line, with the API's balances
        page.fill("#statement-form input[name=from]", "2027-03-01")
        page.click("#statement-form button[type=submit]")
        until = page.input_value("#statement-form input[name=until]")
        span = {"start": "2027-03-01T00:00:00Z", "end": f"{until}T00:00:00Z"}
        statement = market.client.get("/v1/statement", params=span, headers=buyer).json()
        page.wait_for_selector(f"#statement [data-closing='{statement['closing_balance']}']")
        lines = page.eval_on_selector_all("#statement tr[data-line]", "rows => rows.map(r => r.dataset.line)")
        assert lines == [str(line["id"]) for line in statement["lines"]]
        with page.expect_download() as caught:
            page.click("#statement-csv")
        csv = Path(caught.value.path()).read_bytes()
        assert csv.startswith(b"id,at,kind,")
        span = {"start": "2027-03-01T00:00:00Z", "end": statement["end"]}
        assert csv == market.client.get("/v1/statement.csv", params=span, headers=buyer).content
        visit.assert_clean()


REFUSED = "Failed to load resource: the server responded with a status of {} ({})"
"""The browser's own console line for a refused request (the page shows the problem itself)."""


def test_stress_form_checks_as_you_type_and_shows_the_problem(market: Market, visit: Visit) -> None:
    page = visit.page
    visit.sign_in("demo-trader-1")
    visit.open("/quant", "quant")
    form = page.locator("#stress-form")
    form.locator("input[name='changes.hours']").fill("two days")  # refused as it is typed
    page.wait_for_selector("#stress-errors li[data-field='changes.hours']")
    assert form.locator("button[type=submit]").is_disabled()
    form.locator("input[name='changes.hours']").fill("336")  # two weeks: above what one request may run
    page.wait_for_selector("#stress-errors li", state="detached")
    form.locator("button[type=submit]").click()
    problem = page.wait_for_selector("#stress-result .problem", timeout=30_000)
    assert problem.get_attribute("data-code") == "too_expensive"
    assert visit.errors == [REFUSED.format(422, "Unprocessable Entity")]  # and nothing else
    assert not visit.outside


@pytest.mark.slow  # two stress runs (the page's and the API's): seconds each, more on a busy machine
def test_stress_form_shows_the_metrics_the_api_returns(market: Market, visit: Visit) -> None:
    page = visit.page
    visit.sign_in("demo-trader-1")
    visit.open("/quant", "quant")
    form = page.locator("#stress-form")
    form.locator("input[name='changes.hours']").fill("12")
    form.locator("input[name=seed]").fill("3")
    form.locator("button[type=submit]").click()
    done = page.wait_for_selector("#stress-result :is(.ok, .problem)", timeout=120_000)
    assert done.get_attribute("class") == "ok", done.inner_text()
    shown = page.eval_on_selector_all(
        "#stress-result tr[data-metric]", "rows => rows.map(r => [r.dataset.metric, r.dataset.value])"
    )
    body = {"scenario": "generation-shock", "changes": {"hours": 12}, "seed": 3}
    run = market.client.post("/v1/stress", json=body, headers=market.auth("demo-trader-1"), timeout=120)
    assert run.status_code == 200, run.text
    timing = "commands_per_s"  # the engine's speed during the run, not a result
    assert {k: None if v == "null" else float(v) for k, v in shown if k != timing} == {
        k: v for k, v in run.json()["metrics"].items() if k != timing
    }
    visit.assert_clean()


def test_deal_form_prices_the_notes_as_the_api_does(market: Market, visit: Visit) -> None:
    page = visit.page
    visit.sign_in("demo-trader-1")
    visit.open("/pools", "pools")
    editor = page.locator("#deal-form textarea[name=deal]")
    deal = json.loads(editor.input_value())
    bad = {**deal, "tranches": [deal["tranches"][0], {**deal["tranches"][1], "coupon": 1.5}]}
    editor.fill(json.dumps(bad))  # refused as it is typed, named by its path
    page.wait_for_selector("#deal-errors li[data-field='tranches[1].coupon']")
    assert page.locator("#deal-form button[type=submit]").is_disabled()
    over = json.loads(json.dumps(deal))
    over["assets"][0]["forwards"][0]["gpus"] = 100  # more sold forward than installed: the server says so
    editor.fill(json.dumps(over))
    page.wait_for_selector("#deal-errors li", state="detached")
    page.click("#deal-form button[type=submit]")
    problem = page.wait_for_selector("#deal-result .problem", timeout=30_000)
    assert problem.get_attribute("data-code") == "invalid_request"
    assert "assets[0].forwards[0]" in problem.inner_text()
    assert visit.errors == [REFUSED.format(400, "Bad Request")]
    visit.errors.clear()

    editor.fill(json.dumps(deal, indent=2))
    page.click("#deal-form button[type=submit]")
    done = page.wait_for_selector("#deal-result :is(.ok, .problem)", timeout=120_000)
    assert done.get_attribute("class") == "ok", done.inner_text()
    shown = page.eval_on_selector_all(
        "#deal-result tr[data-note]", "rows => rows.map(r => [r.dataset.note, r.dataset.price])"
    )
    api = market.client.post(
        "/v1/securitization/price", json=deal, headers=market.auth("demo-trader-1"), timeout=120
    )
    assert api.status_code == 200, api.text
    assert [(name, float(price)) for name, price in shown] == [
        (t["name"], t["price"]) for t in api.json()["tranches"]
    ]
    visit.shot("pools-deal")
    visit.assert_fits_a_phone()
    visit.assert_clean()
