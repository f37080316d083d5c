"""API keys over HTTP: an account issues, lists and revokes its own keys; scopes are enforced on
routes; admins manage anyone's keys."""

from __future__ import annotations

from tests.api.conftest import Market


def _issue(market: Market, who: str, scopes: list[str] | None, status: int = 201) -> dict:
    body = {} if scopes is None else {"scopes": scopes}
    return market.ok("POST", "/v1/me/keys", who, status, json=body)


def test_an_account_issues_lists_and_revokes_its_own_keys(market: Market) -> None:
    issued = _issue(market, "trader", ["read"])
    assert issued["key"]["scopes"] == ["read"]
    assert issued["api_key"].startswith(issued["key"]["prefix"])
    market.keys["reader"] = issued["api_key"]
    listed = market.ok("GET", "/v1/me/keys", "reader")
    assert [k["scopes"] for k in listed] == [["read", "trade", "transfer"], ["read"]]
    assert all(k["account_id"] == market.ids["trader"] for k in listed)
    # a read-only key reads but cannot trade, nor issue itself wider keys
    assert market.ok("GET", "/v1/me", "reader")["account"]["id"] == market.ids["trader"]
    order = {"symbol": market.symbol, "side": "buy", "quantity": 1, "price": "1.0"}
    refused = market.call("POST", "/v1/orders", "reader", json=order)
    assert refused.status_code == 403
    assert refused.json()["code"] == "insufficient_scope"
    assert _issue(market, "reader", ["read"], 403)["code"] == "insufficient_scope"  # issuing is a change
    market.keys["no-cash"] = _issue(market, "trader", ["read", "trade"])["api_key"]
    assert _issue(market, "no-cash", ["transfer"], 403)["code"] == "insufficient_scope"  # no widening
    assert _issue(market, "no-cash", None)["key"]["scopes"] == ["read", "trade"]  # default: the caller's
    # another account's key is not found; revoking one's own works and the key stops at once here
    other = market.ok("GET", "/v1/me/keys", "trader2")[0]["prefix"]
    assert market.call("DELETE", f"/v1/me/keys/{other}", "trader").status_code == 404
    prefix = issued["key"]["prefix"]
    assert market.call("DELETE", f"/v1/me/keys/{prefix}", "reader").status_code == 403  # needs trade
    assert market.call("DELETE", f"/v1/me/keys/{prefix}", "trader").status_code == 204
    listed = market.ok("GET", "/v1/me/keys", "trader")
    assert listed[1]["revoked_at"] is not None
    assert len(listed) == 4


def test_transfer_scope_guards_cash_and_admins_manage_anyones_keys(market: Market) -> None:
    admin_keys = market.ok("GET", "/v1/me/keys", "admin")
    assert admin_keys[0]["scopes"] == ["read", "trade", "transfer"]
    trading_admin = _issue(market, "admin", ["read", "trade"])
    market.keys["admin-no-transfer"] = trading_admin["api_key"]
    deposit = f"/v1/accounts/{market.ids['trader']}/deposits"
    refused = market.call("POST", deposit, "admin-no-transfer", json={"amount": "1"})
    assert (refused.status_code, refused.json()["code"]) == (403, "insufficient_scope")
    market.ok("POST", deposit, "admin", 201, json={"amount": "1"})
    # admin issues a key for the trader, lists and revokes it
    path = f"/v1/accounts/{market.ids['trader']}/keys"
    issued = market.ok("POST", path, "admin", 201, json={"scopes": ["read", "trade"]})
    assert issued["key"]["account_id"] == market.ids["trader"]
    assert len(market.ok("GET", path, "admin")) == 2
    assert market.call("DELETE", f"{path}/{issued['key']['prefix']}", "admin").status_code == 204
    assert market.call("GET", path, "trader").status_code == 403  # not an admin
    assert market.call("POST", "/v1/accounts/acc_nobody/keys", "admin", json={}).status_code == 404
    bad = market.call("POST", "/v1/me/keys", "trader", json={"scopes": ["root"]})
    assert bad.status_code == 400
