"""``flopex securitize price|report``: the analysis as a table or JSON, the HTML report, field errors."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from click.testing import CliRunner

from api.cli import main
from tests.pricing.securitization.deals import HAND_WORKED, three_tranche


def test_price_prints_json_and_a_table() -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["securitize", "price", "--json", "-"], input=json.dumps(HAND_WORKED))
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert abs(body["tranches"][1]["expected_loss"] - 0.1618448) < 1e-12  # the hand-worked loss of B
    table = runner.invoke(main, ["securitize", "price", "-"], input=json.dumps(HAND_WORKED))
    assert table.exit_code == 0, table.output
    assert "utilisation_slump" in table.stdout
    assert "hand-worked: 1 paths, 5 periods" in table.stdout


def test_bad_deal_prints_the_field_and_exits_2() -> None:
    bad = copy.deepcopy(HAND_WORKED)
    bad["tranches"][0]["coupon"] = -0.1
    result = CliRunner().invoke(main, ["securitize", "price", "-"], input=json.dumps(bad))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: tranches[0].coupon: Expected `float` >= 0.0")


def test_report_writes_a_self_contained_page(tmp_path: Path) -> None:
    deal = tmp_path / "deal.json"
    deal.write_text(json.dumps(three_tranche(paths=100, periods=6)))
    out = tmp_path / "report"
    result = CliRunner().invoke(
        main, ["securitize", "report", str(deal), "--out", str(out), "--paths", "200"]
    )
    assert result.exit_code == 0, result.output
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 4
    assert "<h2>Scenarios</h2>" in page
    analysis = json.loads((out / "analysis.json").read_text())
    assert analysis["paths"] == 200
    assert {p.name for p in out.glob("*.png")} == {"losses.png", "pool.png", "balances.png", "scenarios.png"}
