"""api.mirror without shards: a peer shard whose stream refuses the WebSocket handshake (an HTTP
answer such as 429 or 503 instead of 101) counts as one that does not answer, so the client's
subscription is refused with a reason instead of the client's connection failing."""

from __future__ import annotations

import asyncio
import json

import anyio

from api.mirror import MOVED_CLOSE_CODE, Mirror


async def _refusing_server() -> tuple[asyncio.Server, str]:
    """A server answering every request ``503`` (a peer shard refusing the handshake)."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


def test_a_peer_refusing_the_handshake_is_a_peer_that_does_not_answer() -> None:
    async def scenario() -> tuple[str | None, list[dict]]:
        server, url = await _refusing_server()
        delivered: list[dict] = []

        async def refresh(channel: str) -> None:
            raise AssertionError("nothing to refresh")

        try:
            async with anyio.create_task_group() as tasks:
                mirror = Mirror(None, delivered.append, tasks, lambda product: url, lambda: {url}, refresh)  # type: ignore[arg-type]
                why = await mirror.subscribe("book.H200-2026-12", "H200")
                await mirror.merge("key", "orders")  # left out, not raised
                return why, delivered
        finally:
            server.close()
            await server.wait_closed()

    why, delivered = asyncio.run(scenario())
    assert why is not None
    assert "does not answer" in why
    assert delivered == []


class _Upstream:
    """A shard's stream that sends ``frames``, then closes."""

    def __init__(self, frames: list[dict]) -> None:
        self._frames = [json.dumps(f) for f in frames]
        self.closed = False

    def __aiter__(self) -> _Upstream:
        return self

    async def __anext__(self) -> str:
        if not self._frames:
            raise StopAsyncIteration
        return self._frames.pop(0)

    async def close(self) -> None:
        self.closed = True


class _Socket:
    def __init__(self) -> None:
        self.closed_with: int | None = None

    async def close(self, code: int, reason: str) -> None:
        self.closed_with = code


def test_a_failed_refresh_of_a_state_channel_keeps_the_connection() -> None:
    """A peer's ``positions`` change read afresh here fails (the database is busy): logged, and the
    next messages still pass; the connection closes with 1012 only when the peer goes away."""

    async def refresh(channel: str) -> None:
        raise RuntimeError("the database is busy")

    async def scenario() -> tuple[list[dict], _Socket]:
        delivered: list[dict] = []
        socket = _Socket()
        upstream = _Upstream(
            [
                {"channel": "positions", "type": "update", "seq": 5, "prev_seq": 4},
                {"channel": "orders", "type": "order", "seq": 9, "prev_seq": 8},
            ]
        )
        async with anyio.create_task_group() as tasks:
            mirror = Mirror(socket, delivered.append, tasks, lambda p: None, set, refresh)  # type: ignore[arg-type]
            mirror.channels.update({"positions", "orders"})
            await mirror._pump("http://peer.test", upstream)
        return delivered, socket

    delivered, socket = asyncio.run(scenario())
    assert [m["channel"] for m in delivered] == ["orders"]
    assert socket.closed_with == MOVED_CLOSE_CODE
