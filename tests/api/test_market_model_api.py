"""``GET /v1/index/{product}/model`` and ``flopex index model``; quotes name the model that priced them."""

from __future__ import annotations

import math
from datetime import timedelta

from click.testing import CliRunner

from api.cli import main
from pricing.models import Schwartz1F
from pricing.synthetic import generate
from tests.api.conftest import Market


def _fixings(market: Market, hours: int) -> None:
    now = market.clock().replace(minute=0, second=0, microsecond=0)
    series = generate(
        Schwartz1F(spot=2.4, kappa=200.0, alpha=math.log(2.4), vol=3.0),
        start=now - timedelta(hours=hours),
        periods=hours,
        seed=5,
    )
    fixings = [{"at": t.isoformat(), "price": f"{p:.6f}"} for t, p in series.items()]
    market.ok("POST", "/v1/index/H100/fixings", "admin", 201, json={"fixings": fixings})


def test_the_model_endpoint_shows_the_fallback_then_the_selection(market: Market) -> None:
    missing = market.call("GET", "/v1/index/Z9/model")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    assert market.call("GET", "/v1/index/H100/model").json()["code"] == "no_mark"  # no fixing yet

    _fixings(market, 24)
    fallback = market.ok("GET", "/v1/index/H100/model")
    assert (fallback["source"], fallback["model"]) == ("fallback", "gbm")
    assert fallback["reason"] == "no model refresh has run for this product yet"
    assert fallback["params"]["type"] == "gbm"
    assert fallback["ranking"] == []
    quote = market.ok("GET", f"/v1/instruments/{market.symbol}/quote")
    assert (quote["model_name"], quote["model_source"], quote["calibrated_at"]) == ("gbm", "fallback", None)

    _fixings(market, 10 * 24)
    ctx = market.client.app.state.ctx
    (written,) = ctx.exchange.refresh_models(candidates=["schwartz1f", "gbm"])  # the lifecycle's duty
    ctx._marks.clear()  # the API reuses a mark for 5 s
    chosen = market.ok("GET", "/v1/index/H100/model")
    assert (chosen["source"], chosen["model"], chosen["reason"]) == ("selected", written.model, None)
    assert chosen["calibrated_at"] is not None
    assert {c["model"] for c in chosen["ranking"]} == {"schwartz1f", "gbm"}
    assert set(chosen["score"]["coverage"]) == {"50", "80", "90", "95"}
    assert chosen["params"]["type"] == written.model
    quote = market.ok("GET", f"/v1/instruments/{market.symbol}/quote")
    assert (quote["model_name"], quote["model_source"]) == (written.model, "selected")
    assert quote["calibrated_at"] == chosen["calibrated_at"]
    start = market.window[0]
    end = (market.clock().fromisoformat(start) + timedelta(days=1)).isoformat()
    strip = market.ok("GET", "/v1/quote", params={"product": "H100", "start": start, "end": end, "gpus": 1})
    assert (strip["model_name"], strip["calibrated_at"]) == (written.model, chosen["calibrated_at"])


def test_the_cli_prints_the_model_of_a_running_server(market: Market, monkeypatch) -> None:
    _fixings(market, 24)
    document = market.ok("GET", "/v1/index/H100/model")
    monkeypatch.setattr("api.cli.index.get_json", lambda base, path: market.ok("GET", path))
    result = CliRunner().invoke(main, ["index", "model", "H100", "--url", "http://flopex.test"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "H100: gbm (fallback)"
    assert "reason: no model refresh has run for this product yet" in result.output
    as_json = CliRunner().invoke(main, ["index", "model", "H100", "--url", "http://x", "--json"])
    assert as_json.exit_code == 0
    assert '"source": "fallback"' in as_json.output
    assert document["product"] == "H100"
    _fixings(market, 10 * 24)
    market.client.app.state.ctx.exchange.refresh_models(candidates=["gbm"])
    table = CliRunner().invoke(main, ["index", "model", "H100", "--url", "http://flopex.test"])
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0] == "H100: gbm (selected)"
    (row,) = [line for line in lines if line.startswith("gbm ")]
    assert len(row.split()) == 5  # model, CRPS, pinball, coverage 50/80/90/95, n
