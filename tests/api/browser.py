"""Finding the headless Chromium the browser tests drive (Debian's ``chromium``; browsers cannot be
downloaded here, so Playwright launches the installed one).

Without one the browser tests skip, unless ``FLOPEX_REQUIRE_BROWSER=1`` (CI), which turns the skip
into a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
OFFLINE_FLAGS = (
    "--proxy-server=http://127.0.0.1:9",  # nothing listens there: no request leaves
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",  # and no name resolves
)
"""Chromium switches that cut every host but loopback (loopback never goes through a proxy)."""


LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def keep_local(context: Any, page: Any, outside: list[str], errors: list[str]) -> None:
    """Route every request of ``context`` through a gate that lets loopback (and ``data:``) through
    and records and aborts anything else in ``outside``; record ``page``'s console errors, uncaught
    exceptions and WebSockets beyond loopback."""

    def gate(route: Any) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if host in LOOPBACK or route.request.url.startswith("data:"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", gate)
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("websocket", lambda ws: (urlsplit(ws.url).hostname or "") in LOOPBACK or outside.append(ws.url))


def chromium() -> str:
    """The path of an installed Chromium; skips (or fails under FLOPEX_REQUIRE_BROWSER=1) without one."""
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    reason = "no headless Chromium installed (Debian: apt-get install -y chromium)"
    if os.environ.get("FLOPEX_REQUIRE_BROWSER") == "1":
        pytest.fail(f"FLOPEX_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


def playwright_api() -> Any:
    """``playwright.sync_api``; skips (or fails under FLOPEX_REQUIRE_BROWSER=1) without the package."""
    try:
        from playwright import sync_api
    except ImportError:
        reason = "the playwright package is not installed (pip install -e '.[test]')"
        if os.environ.get("FLOPEX_REQUIRE_BROWSER") == "1":
            pytest.fail(f"FLOPEX_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    return sync_api


@contextmanager
def headless_chromium() -> Iterator[Any]:
    """A headless Chromium driven by Playwright, every host but loopback cut off."""
    executable = chromium()
    sync_api = playwright_api()
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", *OFFLINE_FLAGS],
        )
        try:
            yield launched
        finally:
            launched.close()
