"""Standby and takeover: a second ``flopex serve`` over the same PostgreSQL waits for the books.

The exchange has one writer (the engine's books live in one process; ``market.house.WRITER_LOCK``, a
PostgreSQL advisory lock, says which). A process started with ``--standby`` (``FLOPEX_STANDBY=1``)
serves everything that does not touch a book at once (accounts, keys, deposits, reads: their state
is in the database, see ``api.shared_state``) and tries the writer lock every
:data:`TAKEOVER_POLL_SECONDS`. When the writer dies its database session ends, the lock is freed and
the standby takes it: it rebuilds every book from the command log, checks it against the stored
orders (``market.recovery``), and from then on is the writer (its lifecycle and cancel timers start).

While it waits, a request that needs a book is answered by :func:`book_elsewhere`:

- ``421 book_elsewhere`` with the writer's base URL in ``owner`` while a live writer heartbeats
  (``market.sharing.registry``): nothing was done; send the same request there (``api.client``
  does). 421 (*Misdirected Request*), not a 307 redirect: a client library following redirects by
  itself would resend an order without knowing it moved, and drops the ``Authorization`` header
  when the host changes; the problem says what happened and where to go instead.
- ``503 book_moving`` with ``Retry-After: 1`` while no live process holds the books (the writer
  died and the lock has not been taken over yet): nothing was done; retry shortly.

Shards (``flopex serve --products H100,H200``) hold the books of some products each; a request for
another shard's book (``market.errors.BookElsewhereError``, naming its product) gets the same two
answers with that product's holder as ``owner``, and every shard adopts the products of a shard
that died (:func:`adopt_orphans`). See ``docs/scaling.md``.

A WebSocket ``/v1/stream`` opened on a standby is relayed to the writer's (:func:`relay_stream`):
every frame passes through unchanged, so the writer's ``seq``/``prev_seq`` reach the client as they
are. When the writer dies the relayed connection is closed with code 1012 (*service restart*); the
client reconnects (``api.client.Stream`` does), by then to the new writer's own stream, and the
snapshots it resubscribes to say whether it missed anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import websockets
from litestar import Request, Response, WebSocket
from litestar.exceptions import WebSocketDisconnect

from api.cors import PeerOrigins
from api.errors import PROBLEM_JSON, problem_body
from api.stream import Relay
from market.errors import BookElsewhereError, BookUnavailableError
from market.service import Exchange
from market.sharing import registry

log = logging.getLogger("flopex.api")

TAKEOVER_POLL_SECONDS = 0.5
"""How often a standby tries the writer lock."""

HEARTBEAT_SECONDS = 1.0
"""How often every process on PostgreSQL heartbeats into ``serve_processes``."""


@dataclass
class Presence:
    """This process among the others: its base URL, the holder of each product's books
    (``owners``, key ``*``: a single writer holding all), a writer's URL and the origins of every
    live process (the pages CORS answers, ``api.cors``), as last read."""

    url: str
    writer_url: str | None = None
    owners: dict[str, str] = field(default_factory=dict)
    peers: PeerOrigins = field(default_factory=PeerOrigins)
    beating: threading.Lock = field(default_factory=threading.Lock)

    def owner_of(self, product: str | None) -> str | None:
        """The base URL of the live process holding ``product``'s books (None: no live holder)."""
        if product is not None and product in self.owners:
            return self.owners[product]
        return self.owners.get(registry.ALL_BOOKS, self.writer_url if product is None else None)


async def take_over(exchange: Exchange, started: Callable[[], Awaitable[None]]) -> None:
    """Try the books every :data:`TAKEOVER_POLL_SECONDS` until this process holds them, then call
    ``started`` (which starts the writer's background duties)."""
    while True:
        try:
            await anyio.to_thread.run_sync(exchange.start)
            break
        except BookUnavailableError:
            pass  # another process writes: wait for its lock
        except Exception:  # the database may be briefly unreachable: try again
            log.exception("taking the books over failed")
        await anyio.sleep(TAKEOVER_POLL_SECONDS)
    log.warning("this process now holds the books")
    await started()


async def heartbeat(exchange: Exchange, engine: Any, presence: Presence) -> None:
    """Heartbeat this process and read the writer's URL and the live peers every
    :data:`HEARTBEAT_SECONDS`; on cancellation, leave the registry."""
    try:
        while True:
            try:
                await anyio.to_thread.run_sync(announce_books, exchange, engine, presence)
                owners = await anyio.to_thread.run_sync(registry.owners, engine)
                presence.owners = owners
                presence.writer_url = owners.get(registry.ALL_BOOKS) or next(iter(owners.values()), None)
                presence.peers.update(await anyio.to_thread.run_sync(registry.live_urls, engine))
            except Exception:
                log.exception("heartbeat failed")
            await anyio.sleep(HEARTBEAT_SECONDS)
    except asyncio.CancelledError:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(registry.leave, engine, presence.url)
        raise


def announce_books(exchange: Exchange, engine: Any, presence: Presence) -> None:
    """Heartbeat now, with the books this process holds at this moment: every beat, and a planned move
    at once (another shard's failover reads the registry to know which products are orphaned). The
    books are read and written under :attr:`Presence.beating`, so a beat that read them before a move
    cannot write them after the move's own beat."""
    with presence.beating:
        registry.heartbeat(engine, presence.url, exchange.started, _books(exchange))


def _books(exchange: Exchange) -> str:
    """What this process heartbeats as held: every book (``*``) or its products, comma-separated."""
    products = exchange.shard_products
    return registry.ALL_BOOKS if products is None else ",".join(sorted(products))


async def adopt_orphans(exchange: Exchange, engine: Any, url: str) -> None:
    """A shard's failover duty: every :data:`TAKEOVER_POLL_SECONDS`, try the product locks of the
    other shards' products (``registry.orphans``) and take over the books of any whose lock is free
    (its shard died)."""
    while True:
        await anyio.sleep(TAKEOVER_POLL_SECONDS)
        if not exchange.started:
            continue
        try:
            candidates = await anyio.to_thread.run_sync(registry.orphans, engine, url)
            for product in sorted(p for p in candidates if not exchange.holds(p)):
                with contextlib.suppress(BookUnavailableError):  # its holder's lock is not free yet
                    await anyio.to_thread.run_sync(exchange.adopt, product)
                    log.warning("this process now holds the books of %s", product)
        except Exception:  # the database may be briefly unreachable: try again
            log.exception("adopting orphaned books failed")


def books_owner(presence: Presence | None, exchange: Exchange, product: str | None = None) -> str | None:
    """The base URL of the process holding ``product``'s books (any book when None) as this one
    knows it: itself once it holds them, else the holder its heartbeat last read; None on SQLite
    (no registry: one process)."""
    if presence is None:
        return None
    if exchange.started and (product is None or exchange.holds(product)):
        return presence.url
    return presence.owner_of(product)


RESTART_CLOSE_CODE = 1012
"""WebSocket close code of a relayed stream whose writer went away (RFC 6455 *service restart*)."""


def stream_relay(presence: Presence | None, exchange: Exchange) -> Relay:
    """The ``relay`` of ``api.stream.stream_route``: relays while this process is a standby and a
    live writer heartbeats, else lets this process serve the connection."""

    async def relay(socket: WebSocket[Any, Any, Any]) -> bool:
        if presence is None or exchange.started or presence.writer_url in (None, presence.url):
            return False
        await relay_stream(socket, presence.writer_url)
        return True

    return relay


async def relay_stream(socket: WebSocket[Any, Any, Any], writer_url: str) -> None:
    """Pipe the accepted ``socket`` to the writer's ``/v1/stream`` and back until either side closes;
    if the writer's side closed first (it died), close the client's with :data:`RESTART_CLOSE_CODE`."""
    target = "ws" + writer_url.removeprefix("http") + "/v1/stream"
    client_left = False
    with contextlib.suppress(OSError):  # the writer cannot be reached: as if it closed
        async with websockets.connect(target) as upstream, anyio.create_task_group() as tasks:

            async def down() -> None:
                with contextlib.suppress(websockets.ConnectionClosed):
                    async for frame in upstream:
                        await socket.send_text(frame if isinstance(frame, str) else frame.decode())
                tasks.cancel_scope.cancel()

            tasks.start_soon(down)
            try:
                while True:
                    await upstream.send(await socket.receive_text())
            except WebSocketDisconnect:
                client_left = True
            except websockets.ConnectionClosed:
                pass
            tasks.cancel_scope.cancel()
    if not client_left:
        await socket.close(code=RESTART_CLOSE_CODE, reason="the books moved; reconnect")


def book_elsewhere(request: Request[Any, Any, Any], exc: BookUnavailableError) -> Response[Any]:
    """The answer to a request that needs a book this process does not hold (see the module)."""
    ctx = request.app.state.ctx
    presence: Presence | None = request.app.state.get("presence")
    path = request.url.path
    elsewhere = isinstance(exc, BookElsewhereError)
    if presence is None or (ctx.exchange.started and not elsewhere):  # a refused book: as every error
        return _problem(exc.status, exc.code, exc.message, path)
    owner = presence.owner_of(exc.product) if isinstance(exc, BookElsewhereError) else presence.writer_url
    if owner is not None and owner != presence.url:
        detail = f"this process does not hold the books; send the request to {owner}"
        return _problem(421, "book_elsewhere", detail, path, owner=owner)
    detail = "the books are moving to another process; nothing was done, retry shortly"
    return _problem(503, "book_moving", detail, path, headers={"Retry-After": "1"})


def _problem(
    status: int, code: str, detail: str, path: str, *, headers: dict[str, str] | None = None, **extra: str
) -> Response[Any]:
    body = {**problem_body(status, code, detail, instance=path), **extra}
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)
