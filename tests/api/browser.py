"""Finding the headless Chromium the browser tests drive (Debian's ``chromium``; browsers cannot be
downloaded here, so Playwright launches the installed one).

Without one the browser tests skip, unless ``FLOPEX_REQUIRE_BROWSER=1`` (CI), which turns the skip
into a failure.
"""

from __future__ import annotations

import os
import shutil

import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
OFFLINE_FLAGS = (
    "--proxy-server=http://127.0.0.1:9",  # nothing listens there: no request leaves
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",  # and no name resolves
)
"""Chromium switches that cut every host but loopback (loopback never goes through a proxy)."""


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
