"""The API docs render offline: a real headless browser, with every host but loopback unreachable,
opens ``/schema`` of a real server and finds the operations listed (the UI's assets come from the
package, not a CDN).

Needs a Chromium (Debian: ``apt-get install -y chromium``). Without one the test skips, unless
``FLOPEX_REQUIRE_BROWSER=1`` (CI), which turns the skip into a failure.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.api.browser import OFFLINE_FLAGS, chromium
from tests.api.live_server import serving


def test_schema_page_lists_the_operations_with_the_network_cut(tmp_path: Path) -> None:
    browser = chromium()
    with serving(f"sqlite:///{tmp_path / 'docs.db'}") as (client, _):
        page = str(client.base_url.join("/schema"))
        run = subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                f"--user-data-dir={tmp_path / 'profile'}",
                *OFFLINE_FLAGS,
                "--virtual-time-budget=8000",
                "--dump-dom",
                page,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    summaries = re.findall(r'opblock-summary-description">([^<]+)<', run.stdout)
    assert "Place an order" in summaries, (page, run.stdout[:1000], run.stderr[-2000:])
    assert {"Issue yourself an API key", "Lifecycle duties", "Health"} <= set(summaries)
    assert len(summaries) > 40  # every operation is listed, not just a few
