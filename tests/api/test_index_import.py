"""Loading price histories as index fixings (issue 21): ``flopex index import`` and
``POST /v1/index/{product}/fixings/import``, idempotent, on the formats ``flopex backtest`` reads."""

from __future__ import annotations

from datetime import timedelta
from itertools import islice
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import main
from market import db
from market.service import Exchange
from tests.api.conftest import API_NOW, Market
from tests.api.test_routes import assert_problem

TRACKER = Path("/work/shared/data/gpu-price-tracker/H100_80GB_SXM5.jsonl")


def _csv(hours: int, shift: float = 0.0) -> str:
    start = API_NOW - timedelta(hours=hours)
    rows = [
        f"{(start + timedelta(hours=i)).isoformat()},{2.4 + shift + 0.01 * (i % 4):.2f}" for i in range(hours)
    ]
    return "timestamp,price\n" + "\n".join(rows) + "\n"


def test_cli_imports_a_file_once(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOPEX_CLOCK_START", API_NOW.isoformat())
    engine = db.make_engine(sqlite_url)
    Exchange(engine).create_product("H100")
    engine.dispose()
    history = tmp_path / "h100.csv"
    history.write_text(_csv(48))
    args = ["index", "import", str(history), "--product", "H100", "--db", sqlite_url]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "48 observations, 48 fixings added, 0 revised, 0 already stored" in first.output
    again = CliRunner().invoke(main, args)
    assert "48 observations, 0 fixings added, 0 revised, 48 already stored" in again.output
    history.write_text(_csv(48, shift=0.5))
    corrected = CliRunner().invoke(main, args)
    assert "48 observations, 0 fixings added, 48 revised" in corrected.output
    unknown = CliRunner().invoke(main, [*args[:4], "NOPE", "--db", sqlite_url])
    assert unknown.exit_code == 1
    assert "not_found" in unknown.output
    broken = tmp_path / "broken.csv"
    broken.write_text("when,what\nyesterday,cheap\n")
    refused = CliRunner().invoke(
        main, ["index", "import", str(broken), "--product", "H100", "--db", sqlite_url]
    )
    assert refused.exit_code == 1
    assert refused.output.startswith("error: cannot read broken.csv")


@pytest.mark.skipif(not TRACKER.exists(), reason="the gpu-price-tracker data is not on this machine")
def test_cli_reads_gpu_price_tracker_lines(sqlite_url: str, tmp_path: Path) -> None:
    engine = db.make_engine(sqlite_url)
    Exchange(engine).create_product("H100")
    engine.dispose()
    sample = tmp_path / "h100.jsonl"
    with TRACKER.open() as source:
        sample.write_text("".join(islice(source, 40)))
    args = ["index", "import", str(sample), "--product", "H100", "--stat", "p25", "--db", sqlite_url]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "40 observations, 40 fixings added" in result.output


def test_http_import_is_idempotent_and_refuses_what_it_cannot_read(any_market: Market) -> None:
    market = any_market
    url = "/v1/index/H100/fixings/import?format=csv&source=history"
    upload = {"data": ("history.csv", _csv(24).encode())}
    first = market.ok("POST", url, "admin", 201, files=upload)
    assert first == {"rows": 24, "added": 24, "revised": 0}
    assert market.ok("POST", url, "admin", 201, files=upload) == {
        "rows": 24,
        "added": 0,
        "revised": 0,
    }
    stored = market.ok("GET", "/v1/index/H100?limit=100")["items"]
    assert len(stored) == 24
    assert {f["source"] for f in stored} == {"history"}
    assert_problem(
        market.call("POST", url, "admin", files={"data": ("h.csv", b"\x00\xffnot a csv")}),
        400,
        "invalid_request",
    )
    huge = _csv(2).replace(",2.40\n", ",1e300\n", 1).encode()  # a decimal.InvalidOperation once: a 500
    assert_problem(market.call("POST", url, "admin", files={"data": ("h.csv", huge)}), 400, "invalid_request")
    assert market.call("POST", url, "trader", files=upload).status_code == 403
    unknown = "/v1/index/NOPE/fixings/import?format=csv"
    assert_problem(market.call("POST", unknown, "admin", files=upload), 404, "not_found")
    assert market.call("POST", "/v1/index/H100/fixings/import", "admin", files=upload).status_code == 400
