"""``POST /v1/stress`` and ``flopex stress``: a small lab run end to end, and the bounds on it."""

from __future__ import annotations

import json

from click.testing import CliRunner

from api.cli import main
from tests.api.conftest import make_client
from tests.api.test_routes import assert_problem

TINY = {
    "hours": 12,
    "shock": {"at_hour": 4},
    "population": {"leveraged_longs": 6, "leveraged_shorts": 1, "basket_holders": 6, "basket_units": 200},
}


def test_a_stress_run_over_http_and_its_bounds(sqlite_url: str, admin_key: str) -> None:
    with make_client(sqlite_url, price_budget=600.0) as client:  # two runs fit a loaded machine
        headers = {"Authorization": f"Bearer {admin_key}"}
        body = {"scenario": "generation-shock", "changes": TINY, "seed": 3}
        response = client.post("/v1/stress", json=body, headers=headers)
        assert response.status_code == 200, response.text
        result = response.json()
        assert result["steps"] == 48
        assert result["agents"] == 3 + 7 + 4 + 3 + 6 + 1 + 1
        assert result["metrics"]["drawdown"] > 0.2  # the 40% generation shock on H100 moved the market
        assert result["metrics"]["amplification"] >= 1.0
        again = client.post("/v1/stress", json=body, headers=headers).json()
        timing = {"commands_per_s"}
        assert {k: v for k, v in again["metrics"].items() if k not in timing} == {
            k: v for k, v in result["metrics"].items() if k not in timing
        }  # deterministic per seed
        huge = client.post("/v1/stress", json={"changes": {"hours": 300}}, headers=headers)
        assert_problem(huge, 422, "too_expensive")
        wrong = client.post(
            "/v1/stress", json={"changes": {"population": {"leverage": "x"}}}, headers=headers
        )
        assert_problem(wrong, 400, "invalid_request")
        unknown = client.post("/v1/stress", json={"scenario": "meteor"}, headers=headers)
        assert_problem(unknown, 400, "invalid_request")
        assert client.post("/v1/stress", json=body).status_code == 401
    with make_client(sqlite_url, price_budget=0.1) as client:
        refused = client.post("/v1/stress", json=body, headers={"Authorization": f"Bearer {admin_key}"})
        assert_problem(refused, 429, "rate_limited")  # the estimate alone exceeds the budget


def test_flopex_stress_writes_its_report(tmp_path) -> None:
    scenario = tmp_path / "tiny.json"
    scenario.write_text(json.dumps({"base": "basket-run", **TINY}))
    out = tmp_path / "out"
    args = ["stress", str(scenario), "--seed", "2", "--seeds", "1", "--sweep", "population.leverage=0,8"]
    result = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["scenario"] == "basket-run"
    assert metrics["metrics"]["redeemed_units"] > 0  # the run on the fund reached the APs' redemptions
    swept = metrics["tables"]["Sweep over population.leverage"]
    assert [row["label"] for row in swept] == ["population.leverage=0", "population.leverage=8"]
    assert swept[0]["forced_lots"] == 0 < swept[1]["forced_lots"]  # no leverage, nothing to liquidate
    assert {p.name for p in out.glob("*.png")} == {
        "prices.png",
        "liquidity.png",
        "clearing.png",
        "basket.png",
    }
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html
    assert "amplification" in html
    header = (out / "series.csv").read_text().splitlines()[0]
    assert "price:H100-2027-01" in header
    assert "control_price:H100-2027-01" in header
    bad = CliRunner().invoke(main, ["stress", "no-such", "--out", str(out)])
    assert bad.exit_code == 1
    assert "neither a shipped scenario" in bad.output
