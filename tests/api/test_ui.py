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
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.api.browser import OFFLINE_FLAGS, chromium
from tests.api.live_server import FLOPEX, serving

CLOCK_START = "2027-03-10T09:00:00Z"
"""The demo market's day: mid-month, so its front month and options are far from expiry."""
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "ui"


def _playwright() -> Any:
    try:
        from playwright import sync_api
    except ImportError:
        reason = "the playwright package is not installed (pip install -e '.[test]')"
        if os.environ.get("FLOPEX_REQUIRE_BROWSER") == "1":
            pytest.fail(f"FLOPEX_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    return sync_api


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
def market(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    executable = chromium()
    sync_api = _playwright()
    where = tmp_path_factory.mktemp("ui")
    shots = DOCS_SHOTS if os.environ.get("FLOPEX_UI_SCREENSHOTS") == "1" else where / "shots"
    shots.mkdir(parents=True, exist_ok=True)
    reports = where / "reports"
    _backtest_report(reports / "bt-h100")
    database = f"sqlite:///{where / 'ui.db'}"
    # seeding the demo calibrates every product's model: slow on a busy machine, so wait longer
    demo = ("--demo", "--reports", str(reports))
    clock = {"FLOPEX_CLOCK_START": CLOCK_START}  # the exchange's clock, not the wall clock
    with serving(database, *demo, ready_within=240, env=clock) as (client, process):
        keys, front = _demo_output(process.stdout)
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=executable,
                args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", *OFFLINE_FLAGS],
            )
            try:
                yield Market(client, keys, front, browser, shots)
            finally:
                browser.close()


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

    def gate(route: Any) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if host in LOOPBACK or route.request.url.startswith("data:"):
            route.continue_()
        else:
            visit.outside.append(route.request.url)
            route.abort()

    ctx.route("**/*", gate)
    page.on("console", lambda m: m.type == "error" and visit.errors.append(m.text))
    page.on("pageerror", lambda e: visit.errors.append(str(e)))
    page.on(
        "websocket",
        lambda ws: (urlsplit(ws.url).hostname or "") in LOOPBACK or visit.outside.append(ws.url),
    )
    page.goto(str(market.client.base_url))
    page.wait_for_selector("#view[data-ready='markets']", timeout=30_000)
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
    visit.shot("provider")
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
