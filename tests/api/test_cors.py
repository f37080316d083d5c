"""CORS between the processes of one deployment (api.cors): only a live peer's page, only the API."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from api.cors import PeerCors, PeerOrigins, connect_sources, origin_of

PEER = "http://127.0.0.1:8001"


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://127.0.0.1:8001", "http://127.0.0.1:8001"),
        ("http://127.0.0.1:8001/", "http://127.0.0.1:8001"),
        ("HTTPS://Exchange.Example:443/flopex", "https://exchange.example"),
        ("http://exchange.example:80", "http://exchange.example"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("ftp://exchange.example", None),
        ("127.0.0.1:8000", None),
        ("http://host:99999", None),
        ("", None),
    ],
)
def test_the_origin_of_a_base_url_is_spelt_as_a_browser_sends_it(url: str, origin: str | None) -> None:
    assert origin_of(url) == origin


def _answer(path: str, headers: dict[str, str], *, method: str = "GET", status: int = 200) -> dict[str, str]:
    """The response headers (lower-case names; repeated ones joined) of ``PeerCors`` around an
    application answering ``status`` (an ``OPTIONS`` one with ``Allow``), for a page of ``PEER``."""

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        extra = [(b"allow", b"DELETE, GET, OPTIONS, POST")] if scope["method"] == "OPTIONS" else []
        await send({"type": "http.response.start", "status": status, "headers": extra})
        await send({"type": "http.response.body", "body": b""})

    peers = PeerOrigins()
    peers.update([PEER, "http://127.0.0.1:8000", "not a url"])
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    asyncio.run(PeerCors(inner, peers)(scope, receive, send))  # type: ignore[arg-type]
    out: dict[str, str] = {}
    for name, value in sent[0]["headers"]:
        key = name.decode()
        out[key] = f"{out[key]}, {value.decode()}" if key in out else value.decode()
    return out


def test_a_peers_page_reads_the_answer_and_its_retry_after() -> None:
    headers = _answer("/v1/orders", {"Origin": PEER}, status=421)
    assert headers["access-control-allow-origin"] == PEER
    assert "Retry-After" in headers["access-control-expose-headers"]
    assert headers["vary"] == "Origin"
    assert "access-control-allow-credentials" not in headers


def test_a_peers_preflight_names_the_paths_methods_and_the_apis_headers() -> None:
    preflight = {"Origin": PEER, "Access-Control-Request-Method": "POST"}
    headers = _answer("/v1/orders", preflight, method="OPTIONS", status=204)
    assert headers["access-control-allow-origin"] == PEER
    assert headers["access-control-allow-methods"] == "DELETE, GET, OPTIONS, POST"
    assert headers["access-control-allow-headers"] == "Authorization, Content-Type, Idempotency-Key"
    assert int(headers["access-control-max-age"]) > 0


def test_no_cors_for_another_origin_outside_the_api_or_without_an_origin() -> None:
    stranger = _answer("/v1/orders", {"Origin": "http://127.0.0.1:9"})
    assert "access-control-allow-origin" not in stranger
    assert stranger["vary"] == "Origin"  # the answer depends on the origin: caches must keep them apart
    refused_preflight = {"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}
    assert "access-control-allow-origin" not in _answer("/v1/orders", refused_preflight, method="OPTIONS")
    assert _answer("/", {"Origin": PEER}) == {}  # the shell and the UI's files: same origin only
    assert _answer("/ui/js/api.js", {"Origin": PEER}) == {}
    assert _answer("/v1/orders", {}) == {}


def test_the_shells_policy_connects_to_itself_and_the_live_peers() -> None:
    assert connect_sources(None) == "'self'"
    peers = PeerOrigins()
    peers.update(["http://127.0.0.1:8001/", "http://127.0.0.1:8000"])
    assert connect_sources(peers) == "'self' http://127.0.0.1:8000 http://127.0.0.1:8001"
