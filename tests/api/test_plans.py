"""A product's lifecycle plan, read and changed over HTTP and the CLI; the roll follows the change."""

from __future__ import annotations

from click.testing import CliRunner

from api.cli import main
from market.lifecycle.schedule import DEFAULT_PLAN
from tests.api.conftest import Market

PLAN = "/v1/products/H100/plan"


def test_the_plan_over_http(market: Market) -> None:
    m = market
    default = m.ok("GET", PLAN)  # public
    assert default == {
        "product": "H100",
        "settlement": "physical",
        "months": DEFAULT_PLAN.months,
        "weeks": DEFAULT_PLAN.weeks,
        "days": DEFAULT_PLAN.days,
        "option_months": DEFAULT_PLAN.option_months,
        "strikes": DEFAULT_PLAN.strikes,
        "step_bps": DEFAULT_PLAN.step_bps,
        "expiry_business_days": DEFAULT_PLAN.expiry_business_days,
        "max_fixing_age_hours": DEFAULT_PLAN.max_fixing_age_hours,
        "option_style": "asian",
    }
    assert m.call("PATCH", PLAN, "trader", json={"days": 2}).status_code == 403
    assert m.call("PATCH", PLAN, json={"days": 2}).status_code == 401
    for bad in ({"days": -1}, {"months": 25}, {"step_bps": 0}, {"days": "2"}, {"days": 2.0}, {"bogus": 1}):
        response = m.call("PATCH", PLAN, "admin", json=bad)
        assert response.status_code == 400, (bad, response.text)
    assert m.call("PATCH", "/v1/products/ZZZ9/plan", "admin", json={"days": 1}).json()["code"] == "not_found"
    assert m.call("GET", "/v1/products/ZZZ9/plan").status_code == 404

    changed = m.ok(
        "PATCH", PLAN, "admin", json={"months": 1, "weeks": 0, "days": 2, "settlement": "physical"}
    )
    assert (changed["months"], changed["weeks"], changed["days"]) == (1, 0, 2)
    assert changed["strikes"] == DEFAULT_PLAN.strikes  # left out: kept
    assert m.ok("GET", PLAN) == changed

    m.client.app.state.ctx.lifecycle.run_due()  # the roll lists what the plan now asks for
    listed = m.ok("GET", "/v1/instruments?product=H100&type=forward")["items"]
    kinds = sorted(i["window_kind"] for i in listed)
    assert kinds == ["day", "day", "month"]


def test_the_plan_from_the_cli(market: Market, sqlite_url: str) -> None:
    shown = CliRunner().invoke(main, ["lifecycle", "plan", "H100", "--db", sqlite_url])
    assert shown.exit_code == 0, shown.output
    assert "H100 plan:" in shown.output
    assert f"days                  {DEFAULT_PLAN.days}" in shown.output
    changed = CliRunner().invoke(
        main, ["lifecycle", "plan", "H100", "--days", "3", "--settlement", "cash", "--db", sqlite_url]
    )
    assert changed.exit_code == 0, changed.output
    assert "H100 plan (changed):" in changed.output
    assert "option style          european" in changed.output
    plan = market.ok("GET", PLAN)
    assert (plan["days"], plan["settlement"], plan["weeks"]) == (3, "cash", DEFAULT_PLAN.weeks)
    refused = CliRunner().invoke(main, ["lifecycle", "plan", "H100", "--days", "401", "--db", sqlite_url])
    assert refused.exit_code == 2
    missing = CliRunner().invoke(main, ["lifecycle", "plan", "ZZZ9", "--db", sqlite_url])
    assert missing.exit_code == 1
    assert "not_found" in missing.output
