"""The web interface served by a standby: its calls follow ``421 book_elsewhere`` to the process
holding the book (across origins: the holder answers CORS for its peers' pages, and the page's
Content-Security-Policy names them), wait out ``503 book_moving`` with a visible notice, and its
ladder stays live through the relayed stream and a failover.

Two real ``flopex serve`` processes on one PostgreSQL database (a writer and a ``--standby``; in the
last, ``slow`` test two product shards) and Debian's Chromium driven by Playwright, every host but
loopback cut off. The page knows nothing of which process holds a book beyond what the 421 names,
so the same code follows a standby's writer and another product's shard.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from market import db
from market.house import WRITER_LOCK
from market.store import BookLocks
from tests.api.browser import headless_chromium, keep_local
from tests.api.conftest import API_NOW, _admin_key, next_month_start
from tests.api.live_server import free_port, serving
from tests.conftest import _fresh_postgres

pytestmark = pytest.mark.postgres

ENV = {
    "FLOPEX_CLOCK_START": API_NOW.isoformat(),
    "FLOPEX_LIFECYCLE_SECONDS": "0",
    "FLOPEX_PRICE_WORKERS": "1",
}
MISDIRECTED = "the server responded with a status of 421"
"""Chromium logs every error status as a console error: the 421s the page follows are expected."""


@dataclass
class Pair:
    """A writer and a standby over one database, an instrument on it and a trader's key."""

    database: str
    writer: httpx.Client
    writer_process: subprocess.Popen[str]
    standby: httpx.Client
    standby_process: subprocess.Popen[str]
    symbol: str
    tick: Decimal
    key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def _forward(holder: httpx.Client, admin: str, product: str) -> tuple[str, Decimal]:
    """``product`` and next month's forward of it, made on the process holding its book: (symbol, tick)."""
    auth = {"Authorization": f"Bearer {admin}"}
    holder.post("/v1/products", json={"id": product, "description": product}, headers=auth).raise_for_status()
    start = next_month_start(API_NOW).isoformat()
    body = {"type": "forward", "product": product, "window": "month", "start": start}
    instrument = holder.post("/v1/instruments", json=body, headers=auth).json()
    return instrument["symbol"], Decimal(instrument["tick"])


def _trader(process: httpx.Client, admin: str) -> str:
    """A trader with USD 1,000,000: its key."""
    auth = {"Authorization": f"Bearer {admin}"}
    trader = process.post("/v1/accounts", json={"name": "t", "roles": ["trader"]}, headers=auth).json()
    deposits = f"/v1/accounts/{trader['account']['id']}/deposits"
    process.post(deposits, json={"amount": "1000000"}, headers=auth).raise_for_status()
    return str(trader["api_key"])


def _peers_see(holder: httpx.Client, origin: str, within: float = 10) -> None:
    """Wait until ``holder`` answers CORS for ``origin`` (its heartbeat read the new process)."""
    deadline = time.monotonic() + within
    preflight = {"Origin": origin, "Access-Control-Request-Method": "POST"}
    allowed = "access-control-allow-origin"
    while holder.options("/v1/orders", headers=preflight).headers.get(allowed) != origin:
        assert time.monotonic() < deadline, f"{holder.base_url} never admitted {origin}"
        time.sleep(0.1)


def _start_together(
    stack: contextlib.ExitStack, database: str, *processes: tuple[str, ...]
) -> list[tuple[httpx.Client, subprocess.Popen[str]]]:
    """Start one ``flopex serve`` per ``processes`` entry (its extra arguments) at once, each on a
    free port with its public URL set, and stop them when ``stack`` closes: starting them side by
    side halves the wait (each takes seconds to import and open its database)."""
    starting = []
    for extra in processes:
        port = free_port()
        env = {**ENV, "FLOPEX_PUBLIC_URL": f"http://127.0.0.1:{port}"}
        starting.append(serving(database, *extra, env=env, port=port))
    with ThreadPoolExecutor(len(starting)) as pool:
        futures = [pool.submit(server.__enter__) for server in starting]
    for server, future in zip(starting, futures, strict=True):
        if future.exception() is None:
            stack.push(server)  # its __exit__ stops it with the stack
    return [future.result() for future in futures]


def _owner_known(process: httpx.Client, symbol: str, owner: str, within: float = 15) -> None:
    """Wait until ``process`` names ``owner`` as the holder of ``symbol``'s book (it reads the
    registry at its next heartbeat)."""
    deadline = time.monotonic() + within
    while process.get(f"/v1/instruments/{symbol}").json()["owner"] != owner:
        assert time.monotonic() < deadline, f"{process.base_url} never named {owner} for {symbol}"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def pair(_postgres_template: sa.URL) -> Iterator[Pair]:
    """Two ``--standby`` processes started together: whichever takes the writer lock first is the
    writer, the other stays a standby (as when a deployment starts every process the same way)."""
    for database in _fresh_postgres(_postgres_template.set(database="postgres"), _postgres_template.database):
        admin = _admin_key(database)
        with contextlib.ExitStack() as stack:
            started = _start_together(stack, database, ("--standby",), ("--standby",))
            deadline = time.monotonic() + 30
            while not any(client.get("/health").json()["holds_books"] for client, _ in started):
                assert time.monotonic() < deadline, "no process took the books"
                time.sleep(0.1)
            if not started[0][0].get("/health").json()["holds_books"]:
                started.reverse()
            (writer, writer_process), (standby, standby_process) = started
            (symbol, tick), key = _forward(writer, admin, "H100"), _trader(writer, admin)
            _peers_see(writer, str(standby.base_url).rstrip("/"))
            _owner_known(standby, symbol, str(writer.base_url).rstrip("/"))
            yield Pair(database, writer, writer_process, standby, standby_process, symbol, tick, key)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with headless_chromium() as launched:
        yield launched


@dataclass
class Page:
    """One tab on the standby's interface, recording console errors, requests and answers."""

    page: Any
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    answers: list[tuple[int, str]] = field(default_factory=list)


@contextlib.contextmanager
def _instrument_page(browser: Any, base_url: str, key: str, symbol: str) -> Iterator[Page]:
    """The interface served at ``base_url``, signed in with ``key``, on ``symbol``'s page, recording
    what it sends and gets."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    seen = Page(page)
    keep_local(context, page, seen.outside, seen.errors)
    page.on("request", lambda r: seen.requests.append((r.method, r.url)))
    page.on("response", lambda r: seen.answers.append((r.status, r.url)))
    # every time the notice is shown, the page notes it (it may be up for a fraction of a second)
    page.add_init_script(
        """addEventListener("DOMContentLoaded", () => {
             window.movingShown = 0;
             const notice = document.getElementById("book-moving");
             new MutationObserver(() => { if (!notice.hidden) window.movingShown += 1; })
               .observe(notice, { attributes: true, attributeFilter: ["hidden"] });
           });"""
    )
    try:
        page.goto(base_url)
        page.wait_for_selector("#view[data-ready='markets']", timeout=30_000)
        page.fill("form.signin input[name=api_key]", key)
        page.click("form.signin button[type=submit]")
        page.wait_for_selector(".session .who", timeout=15_000)
        page.evaluate(
            "f => { document.getElementById('view').dataset.ready = ''; location.hash = f; }",
            f"/instrument/{symbol}",
        )
        page.wait_for_selector("#view[data-ready='instrument']", timeout=30_000)
        yield seen
    finally:
        context.close()


@pytest.fixture(scope="module")
def tab(pair: Pair, browser: Any) -> Iterator[Page]:
    """The standby's interface on the instrument's page (one tab for the module: the failover test
    goes on where the first test left the page)."""
    with _instrument_page(browser, str(pair.standby.base_url), pair.key, pair.symbol) as seen:
        yield seen


def _place(page: Any, price: Decimal, quantity: int) -> None:
    page.fill("#order-ticket input[name=price]", str(price))
    page.fill("#order-ticket input[name=quantity]", str(quantity))
    page.click("#order-ticket button[type=submit]")


def _placed_order(page: Any, other_than: str = "", timeout: float = 15_000) -> str:
    """The id the ticket shows for the order it placed last (not ``other_than``)."""
    page.wait_for_function(
        """old => { const ok = document.querySelector(".ticket-result .ok");
                    return ok && ok.dataset.orderId && ok.dataset.orderId !== old; }""",
        arg=other_than,
        timeout=timeout,
    )
    return str(page.get_attribute(".ticket-result .ok", "data-order-id"))


def _only_expected_errors(tab: Page, *, moving: bool = False) -> None:
    """No console error but the browser's log lines of the 421s followed, the quote's 400 (the bare
    market here has no index to price from: the quote panel shows that problem) and, with
    ``moving``, the 503s waited out and the dead writer's refused connections; no problem shown
    anywhere but in the quote panel."""
    refused = [(status, url) for status, url in tab.answers if status >= 400 and status not in (421, 503)]
    assert all(url.endswith("/quote") and status == 400 for status, url in refused), refused
    expected = [MISDIRECTED, "status of 400 (Bad Request)"]
    if moving:
        expected += ["status of 503", "net::ERR_CONNECTION_REFUSED"]
    assert [e for e in tab.errors if not any(x in e for x in expected)] == []
    assert tab.page.locator(":not(#quote) > .problem").all_inner_texts() == []


def test_peers_answer_cors_for_each_other_and_nobody_else(pair: Pair) -> None:
    standby_origin = str(pair.standby.base_url).rstrip("/")
    writer_origin = str(pair.writer.base_url).rstrip("/")
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    answer = pair.writer.options("/v1/orders", headers={"Origin": standby_origin, **preflight})
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == standby_origin
    assert "POST" in answer.headers["access-control-allow-methods"].split(", ")
    assert "Authorization" in answer.headers["access-control-allow-headers"]
    assert "access-control-allow-credentials" not in answer.headers  # a bearer key, never a cookie
    assert "Origin" in answer.headers.get_list("vary")
    stranger = pair.writer.options("/v1/orders", headers={"Origin": "http://127.0.0.1:9", **preflight})
    assert "access-control-allow-origin" not in stranger.headers
    # an actual answer, a problem included, is readable by the peer's page, Retry-After too
    refused = pair.standby.post(
        "/v1/orders",
        json={"symbol": pair.symbol, "side": "buy", "quantity": 1, "price": "1.000"},
        headers={**pair.auth, "Origin": writer_origin},
    )
    assert refused.status_code == 421
    assert refused.json()["owner"] == writer_origin
    assert refused.headers["access-control-allow-origin"] == writer_origin
    assert "Retry-After" in refused.headers["access-control-expose-headers"]
    # a 421 is no outcome: the same request with the same Idempotency-Key runs on the holder
    keyed = {**pair.auth, "Idempotency-Key": "follow-me"}
    order = {"symbol": pair.symbol, "side": "buy", "quantity": 1, "price": "1.001", "client_order_id": "k1"}
    assert pair.standby.post("/v1/orders", json=order, headers=keyed).status_code == 421
    placed = pair.writer.post("/v1/orders", json=order, headers=keyed)
    assert placed.status_code == 201, placed.text
    assert "idempotent-replayed" not in placed.headers
    pair.writer.delete(f"/v1/orders/{placed.json()['id']}", headers=pair.auth).raise_for_status()
    # the UI's own files and the shell answer no CORS; the shell's policy lets its page reach the peers
    shell = pair.standby.get("/", headers={"Origin": writer_origin})
    assert "access-control-allow-origin" not in shell.headers
    policy = dict(p.strip().split(" ", 1) for p in shell.headers["content-security-policy"].split(";"))
    assert policy["connect-src"].split() == ["'self'", *sorted([standby_origin, writer_origin])]


def test_the_standbys_page_places_on_the_holder_and_its_ladder_shows_it(pair: Pair, tab: Page) -> None:
    page, writer = tab.page, str(pair.writer.base_url).rstrip("/")
    price = (Decimal("1.5") + 7 * pair.tick).quantize(pair.tick)
    _place(page, price, 3)
    order_id = _placed_order(page)
    placed = pair.writer.get(f"/v1/orders/{order_id}", headers=pair.auth).json()
    assert (placed["status"], placed["price"], placed["quantity"]) == ("open", str(price), 3)
    # the standby answered 421 and the page sent the same order to the writer's origin
    standby = str(pair.standby.base_url).rstrip("/")
    assert (421, f"{standby}/v1/orders") in tab.answers
    assert ("POST", f"{writer}/v1/orders") in tab.requests
    # the ladder hears of it on the stream the standby relays from the writer
    page.wait_for_selector(f"#ladder tr.bid[data-price='{price}']", timeout=15_000)
    assert page.locator(f"#ladder tr.bid[data-price='{price}'] td").nth(1).inner_text() == "3"
    assert page.locator("#book-moving").is_hidden()
    assert not tab.outside, tab.outside
    _only_expected_errors(tab)


@pytest.mark.slow
def test_a_failover_shows_the_notice_then_the_page_goes_on_with_the_new_holder(pair: Pair, tab: Page) -> None:
    """SIGKILL the writer; the test itself holds the writer lock for a few seconds before the standby
    may take it (the standby is paused while the test takes it), so the moving window is long enough
    to be seen on any machine: first 421s naming the dead writer (its heartbeat is still fresh), whose
    address does not answer, then 503 book_moving; once released, the standby takes the books over."""
    page = tab.page
    before = page.evaluate("document.querySelector('.ticket-result .ok')?.dataset.orderId || ''")
    bids = page.locator("#ladder tr.bid").count()
    price = (Decimal("1.5") + 3 * pair.tick).quantize(pair.tick)
    locks = BookLocks(engine := db.make_engine(pair.database))
    pair.standby_process.send_signal(signal.SIGSTOP)
    try:
        pair.writer_process.kill()
        pair.writer_process.wait()
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(Exception):
                locks.acquire([WRITER_LOCK])
                break
            assert time.monotonic() < deadline, "the dead writer's lock was never freed"
            time.sleep(0.02)
    finally:
        pair.standby_process.send_signal(signal.SIGCONT)
    try:
        tab.answers.clear()
        killed = time.monotonic()
        _place(page, price, 2)
        page.wait_for_selector("#book-moving", state="visible", timeout=5_000)
        time.sleep(max(0.0, killed + 4.0 - time.monotonic()))  # past the dead writer's 3 s freshness
        assert page.locator("#book-moving").is_visible()
    finally:
        locks.release()
        engine.dispose()
    released = time.monotonic()
    order_id = _placed_order(page, other_than=before, timeout=30_000)
    placed_after = time.monotonic() - released
    page.wait_for_selector("#book-moving", state="hidden", timeout=5_000)
    standby = str(pair.standby.base_url).rstrip("/")
    placed = pair.standby.get(f"/v1/orders/{order_id}", headers=pair.auth).json()
    assert (placed["status"], placed["price"]) == ("open", str(price))
    statuses = {status for status, url in tab.answers if url == f"{standby}/v1/orders"}
    assert {421, 503} <= statuses, tab.answers  # both ways of moving were seen, then the order placed
    assert 201 in statuses or 200 in statuses
    # the ladder is live again: the new order arrives on the standby's own stream, the old one rebuilt
    page.wait_for_selector(f"#ladder tr.bid[data-price='{price}']", timeout=20_000)
    assert page.locator("#ladder tr.bid").count() == bids + 1
    assert page.evaluate("window.movingShown") >= 1
    _only_expected_errors(tab, moving=True)
    print(f"failover: the order placed {placed_after:.2f} s after the lock was released")


@pytest.mark.slow
def test_a_shards_page_places_on_the_shard_holding_the_product_and_follows_its_failover(
    postgres_url: str, browser: Any
) -> None:
    """The same page against two product shards (``flopex serve --products``): loaded from the H100
    shard, on H200's page, its order is answered 421 naming the H200 shard, placed there, and shown
    in the ladder from the stream the H100 shard mirrors; the H200 shard is SIGKILLed, the page shows
    the notice until the survivor adopts H200's book, and the next order is placed there."""
    database = postgres_url
    admin = _admin_key(database)
    with contextlib.ExitStack() as stack:
        (one, _), (two, doomed) = _start_together(
            stack, database, ("--products", "H100"), ("--products", "H200")
        )
        urls = [str(one.base_url).rstrip("/"), str(two.base_url).rstrip("/")]
        _forward(one, admin, "H100")
        h200, tick = _forward(two, admin, "H200")
        key = _trader(one, admin)
        _peers_see(two, urls[0])
        _owner_known(one, h200, urls[1])
        tab = stack.enter_context(_instrument_page(browser, urls[0], key, h200))
        page = tab.page
        price = (Decimal("1.5") + 5 * tick).quantize(tick)
        _place(page, price, 2)
        first = _placed_order(page)
        placed = two.get(f"/v1/orders/{first}", headers={"Authorization": f"Bearer {key}"}).json()
        assert (placed["status"], placed["price"]) == ("open", str(price))
        assert (421, f"{urls[0]}/v1/orders") in tab.answers
        assert ("POST", f"{urls[1]}/v1/orders") in tab.requests
        page.wait_for_selector(f"#ladder tr.bid[data-price='{price}']", timeout=15_000)

        doomed.kill()
        doomed.wait()
        killed = time.monotonic()
        later = (price - tick).quantize(tick)
        _place(page, later, 1)
        second = _placed_order(page, other_than=first, timeout=30_000)
        waited = time.monotonic() - killed
        page.wait_for_selector("#book-moving", state="hidden", timeout=5_000)
        assert page.evaluate("window.movingShown") >= 1
        moved = one.get(f"/v1/orders/{second}", headers={"Authorization": f"Bearer {key}"}).json()
        assert (moved["status"], moved["price"]) == ("open", str(later))
        assert one.get(f"/v1/instruments/{h200}").json()["owner"] == urls[0]
        # the ladder is live again on the survivor's own stream: the first order rebuilt, the second
        page.wait_for_selector(f"#ladder tr.bid[data-price='{later}']", timeout=20_000)
        assert page.locator(f"#ladder tr.bid[data-price='{price}']").count() == 1
        assert not tab.outside, tab.outside
        _only_expected_errors(tab, moving=True)
        print(f"shard failover: the order from the ticket placed {waited:.2f} s after the SIGKILL")
