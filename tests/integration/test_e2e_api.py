"""End to end: ``flopex serve`` as a real process on a free port, driven over HTTP, stopped and restarted.

A provider lists capacity and offers it, a buyer hedges by buying the forward; trades, balances and
positions are checked, the server is stopped (SIGTERM) and started again on the same SQLite file, and
everything must read back the same. A second test starts the demo market and runs its printed curl
commands.
"""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import signal
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import websockets

from market import db
from market.service import Exchange
from migrations import commands as migrate
from tests.api.live_server import serving

NOW = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
"""The exchange clock the servers of these tests start at (``FLOPEX_CLOCK_START``)."""


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def snapshot(client: httpx.Client, keys: dict[str, str], symbol: str) -> dict[str, object]:
    """Everything a user could look at after the flow, for comparison across a restart."""
    return {
        "book": client.get(f"/v1/instruments/{symbol}/book").json(),
        "trades": client.get(f"/v1/instruments/{symbol}/trades").json(),
        **{f"{who}.me": client.get("/v1/me", headers=bearer(key)).json() for who, key in keys.items()},
        **{
            f"{who}.positions": client.get("/v1/positions", headers=bearer(key)).json()
            for who, key in keys.items()
        },
        **{
            f"{who}.orders": client.get("/v1/orders", headers=bearer(key)).json() for who, key in keys.items()
        },
        "listings": client.get("/v1/listings", headers=bearer(keys["provider"])).json(),
    }


def test_provider_and_buyer_over_http_survive_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the state across the restart is compared exactly: the lifecycle must not list new series meanwhile
    monkeypatch.setenv("FLOPEX_LIFECYCLE_SECONDS", "0")
    url = f"sqlite:///{tmp_path / 'e2e.db'}"
    migrate.upgrade(url)
    engine = db.make_engine(url)
    admin = Exchange(engine, clock=lambda: NOW).create_account("ops", ["admin"]).api_key
    engine.dispose()
    monkeypatch.setenv("FLOPEX_CLOCK_START", NOW.isoformat())  # the server's clock starts there
    start = datetime(2027, 4, 1, tzinfo=UTC)

    with serving(url) as (client, _):
        keys = {}
        for name, role in (("cloud", "provider"), ("lab", "trader")):
            created = client.post("/v1/accounts", json={"name": name, "roles": [role]}, headers=bearer(admin))
            assert created.status_code == 201, created.text
            keys["provider" if role == "provider" else "buyer"] = created.json()["api_key"]
        me = client.get("/v1/me", headers=bearer(keys["buyer"])).json()
        deposit = client.post(
            f"/v1/accounts/{me['account']['id']}/deposits",
            json={"amount": "50000"},
            headers={**bearer(admin), "Idempotency-Key": "e2e-1"},
        )
        assert deposit.status_code == 201, deposit.text
        assert client.post("/v1/products", json={"id": "H100"}, headers=bearer(admin)).status_code == 201
        forward = client.post(
            "/v1/instruments",
            headers=bearer(admin),
            json={"type": "forward", "product": "H100", "window": "month", "start": start.isoformat()},
        ).json()
        symbol = forward["symbol"]

        listing = client.post(
            "/v1/listings",
            headers=bearer(keys["provider"]),
            json={
                "product": "H100",
                "gpus": 16,
                "start": forward["window_start"],
                "end": forward["window_end"],
            },
        )
        assert listing.status_code == 201, listing.text
        assert listing.json()["covers"] == [symbol]
        ask = client.post(
            "/v1/orders",
            headers=bearer(keys["provider"]),
            json={"symbol": symbol, "side": "sell", "quantity": 8, "price": "2.450"},
        )
        assert ask.status_code == 201, ask.text

        bought = client.post(
            "/v1/orders",
            headers=bearer(keys["buyer"]),
            json={
                "symbol": symbol,
                "side": "buy",
                "quantity": 5,
                "price": "2.500",
                "client_order_id": "hedge-jan",
            },
        )
        assert bought.status_code == 201, bought.text
        assert bought.json()["status"] == "filled"
        assert [f["price"] for f in bought.json()["fills"]] == ["2.450"]  # at the maker's price

        trades = client.get(f"/v1/instruments/{symbol}/trades").json()["items"]
        assert [(t["price"], t["quantity"]) for t in trades] == [("2.450", 5)]
        position = client.get("/v1/positions", headers=bearer(keys["buyer"])).json()["items"]
        assert [(p["symbol"], p["quantity"]) for p in position] == [(symbol, 5)]
        notional = 2.45 * 5 * forward["hours"]
        balances = client.get("/v1/me", headers=bearer(keys["buyer"])).json()["balances"]
        assert float(balances["cash"]) == pytest.approx(50000 - notional)
        assert client.get("/v1/admin/check", headers=bearer(admin)).json() == {"ok": True, "breaches": []}
        before = snapshot(client, keys, symbol)

    with serving(url) as (client, _):
        assert snapshot(client, keys, symbol) == before
        again = client.post(
            "/v1/orders",
            headers=bearer(keys["buyer"]),
            json={
                "symbol": symbol,
                "side": "buy",
                "quantity": 5,
                "price": "2.500",
                "client_order_id": "hedge-jan",
            },
        )
        assert again.json()["id"] == bought.json()["id"]  # idempotent across the restart
        more = client.post(
            "/v1/orders",
            headers=bearer(keys["buyer"]),
            json={"symbol": symbol, "side": "buy", "quantity": 3, "price": "2.450"},
        )
        assert more.json()["status"] == "filled"  # the rebuilt book still held the rest of the ask
        assert client.get(f"/v1/instruments/{symbol}/book").json()["asks"] == []
        assert (
            asyncio.run(_stream_snapshot(str(client.base_url), symbol))["seq"]
            == client.get(f"/v1/instruments/{symbol}/book").json()["sequence"]
        )


async def _stream_snapshot(base: str, symbol: str) -> dict[str, object]:
    """The book snapshot the real server's WebSocket sends on subscription."""
    async with websockets.connect(base.replace("http://", "ws://") + "/v1/stream") as ws:
        await ws.send(json.dumps({"op": "subscribe", "channels": [f"book.{symbol}"]}))
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
            if message.get("type") == "snapshot":
                return message


def test_demo_prints_keys_once_and_its_curl_commands_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOPEX_CLOCK_START", NOW.isoformat())  # the demo is seeded as of a fixed instant
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    with serving(url, "--demo") as (client, process):
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
        keys = dict(re.findall(r"^\s+(demo-[\w-]+|admin)\s+(flx_\S+)$", output, re.MULTILINE))
        assert set(keys) == {"admin", "demo-cloud-a", "demo-cloud-b", "demo-trader-1", "demo-trader-2"}
        commands = [line.strip() for line in output.splitlines() if line.strip().startswith("curl ")]
        assert len(commands) == 3
    with serving(url, "--demo") as (client, process):
        base = str(client.base_url).rstrip("/")
        for command in commands:
            argv = [re.sub(r"^http://127\.0\.0\.1:\d+", base, part) for part in shlex.split(command)]
            result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True)
            assert '"code"' not in result.stdout, result.stdout  # no problem document
        assert client.get("/v1/me", headers=bearer(keys["demo-trader-1"])).json()["open_orders"] >= 1
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
        assert "flx_" not in output  # keys are printed only when the database is seeded
