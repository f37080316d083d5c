"""api.mirror without shards: a peer shard whose stream refuses the WebSocket handshake (an HTTP
answer such as 429 or 503 instead of 101) counts as one that does not answer, so the client's
subscription is refused with a reason instead of the client's connection failing."""

from __future__ import annotations

import asyncio

import anyio

from api.mirror import Mirror


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
