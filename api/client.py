"""A small typed Python client of the flopex HTTP API and its stream.

:class:`Client` wraps the public REST API: market data, your orders (one, a batch, cancels, amends,
the dead-man switch), fills and the ledger, every list followed across its pages. Responses are
decoded into the API's own response types (``OrderOut``, ``BookOut``, ...), so a client and the
server it talks to never disagree about a field; errors raise :class:`FlopexError` carrying the
problem's stable ``code``. A ``421 book_elsewhere`` (a standby or another shard answering for the
process that holds the book, see ``api.standby``) is sent on to the process it names, at most
:data:`MAX_HOPS` times (a standby may name a shard that names the holder); ``503 book_moving`` (the
books are being taken over, or the process named does not answer) raises: retry it (an order with a
``client_order_id`` is placed once).

:class:`Stream` follows WebSocket channels with the stream's sequence rules: every channel message's
``prev_seq`` must equal the ``seq`` of the message before it on that channel (:class:`GapDetector`).
On a gap it resubscribes the channel (a fresh snapshot follows); when the connection drops (a server
restart) it reconnects, authenticates and resubscribes everything, and the snapshots' ``seq`` tell
whether something changed meanwhile.

>>> with Client("http://localhost:8000", key) as flopex:                       # doctest: +SKIP
...     order = flopex.place("H100-2027-01", "buy", 4, price="2.450", client_order_id="bot-1")
...     flopex.cancel_all_after(60)
...     book = flopex.book("H100-2027-01", depth=5)
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import httpx
import msgspec
import websockets

from api.controllers.exchange_info import FeeOut, ServerTime
from api.pagination import Page
from api.schemas.market_data import BookOut, CandleOut, TickerOut, TradeOut
from api.schemas.orders import BatchOut, CancelledOut, CancelTimerOut, FillOut, OcoOut, OrderOut
from api.schemas.portfolio import EntryOut, PositionOut
from api.schemas.shards import BookMoveOut

T = TypeVar("T")

MAX_HOPS = 2
"""How many ``421 book_elsewhere`` answers one call follows (standby -> a shard -> the holder)."""


class FlopexError(Exception):
    """An error answer of the API: ``status``, the stable ``code`` and the human ``detail``."""

    def __init__(
        self, status: int, code: str, detail: str, errors: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors or []


def _instant(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


class Client:
    """The REST API at ``base_url`` with API ``key`` (public market data needs none).

    ``http`` may be an existing ``httpx.Client`` (a test client, one with its own transport); it is
    then used as is, its base URL included.
    """

    def __init__(
        self,
        base_url: str = "",
        key: str | None = None,
        *,
        http: httpx.Client | None = None,
        timeout: float = 30,
    ) -> None:
        self._own = http is None
        self._http = http if http is not None else httpx.Client(base_url=base_url, timeout=timeout)
        self._headers = {} if key is None else {"Authorization": f"Bearer {key}"}

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool (unless it was given)."""
        if self._own:
            self._http.close()

    # -- plumbing --------------------------------------------------------------------------------

    def _call(self, method: str, path: str, kind: type[T], **kwargs: Any) -> T:
        params = {k: v for k, v in kwargs.pop("params", {}).items() if v is not None}
        response = self._http.request(method, path, headers=self._headers, params=params, **kwargs)
        hops = 0
        while response.status_code == 421 and hops < MAX_HOPS:  # book_elsewhere: send it to the owner
            hops += 1
            owner = response.json().get("owner")
            if not (isinstance(owner, str) and owner.startswith(("http://", "https://"))):
                break
            url = owner.rstrip("/") + path
            try:
                response = self._http.request(method, url, headers=self._headers, params=params, **kwargs)
            except httpx.ConnectError:  # it died a moment ago (its heartbeat is not stale yet)
                gone = f"{owner} holds the books but does not answer"
                raise FlopexError(503, "book_moving", gone) from None
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {}
            raise FlopexError(
                response.status_code,
                problem.get("code", "http_error"),
                problem.get("detail", response.text),
                problem.get("errors"),
            )
        return msgspec.json.decode(response.content, type=kind)

    def _pages(self, path: str, kind: type[T], params: dict[str, Any]) -> Iterator[T]:
        cursor = None
        while True:
            page = self._call("GET", path, Page[kind], params={**params, "cursor": cursor})  # type: ignore[valid-type]
            yield from page.items
            cursor = page.next_cursor
            if cursor is None:
                return

    @staticmethod
    def _span(start: datetime | None, end: datetime | None, order: str) -> dict[str, Any]:
        return {"start": _instant(start), "end": _instant(end), "order": order}

    # -- market data -----------------------------------------------------------------------------

    def time(self) -> ServerTime:
        """The exchange clock."""
        return self._call("GET", "/v1/time", ServerTime)

    def fees(self, product: str | None = None) -> list[FeeOut]:
        """Maker and taker fees of every tradable instrument (of ``product``)."""
        return list(self._pages("/v1/fees", FeeOut, {"product": product}))

    def book(self, symbol: str, depth: int = 50) -> BookOut:
        """The aggregated book, best levels first, with its sequence number."""
        return self._call("GET", f"/v1/instruments/{symbol}/book", BookOut, params={"depth": depth})

    def ticker(self, symbol: str) -> TickerOut:
        """Best bid and ask, last price, 24-hour volume, the mark."""
        return self._call("GET", f"/v1/instruments/{symbol}/ticker", TickerOut)

    def trades(
        self, symbol: str, start: datetime | None = None, end: datetime | None = None, order: str = "asc"
    ) -> Iterator[TradeOut]:
        """Public trades in ``[start, end)``, every page."""
        return self._pages(f"/v1/instruments/{symbol}/trades", TradeOut, self._span(start, end, order))

    def candles(
        self, symbol: str, interval: str = "1h", start: datetime | None = None, end: datetime | None = None
    ) -> list[CandleOut]:
        """Candles on UTC interval boundaries, every page."""
        params = {"interval": interval, "start": _instant(start), "end": _instant(end)}
        return list(self._pages(f"/v1/instruments/{symbol}/candles", CandleOut, params))

    # -- orders ----------------------------------------------------------------------------------

    def place(
        self, symbol: str, side: str, quantity: int, price: str | None = None, **fields: Any
    ) -> OrderOut:
        """Place one order (``fields``: ``type``, ``time_in_force``, ``client_order_id``, ...)."""
        body = {"symbol": symbol, "side": side, "quantity": quantity, **fields}
        if price is not None:
            body["price"] = price
        return self._call("POST", "/v1/orders", OrderOut, json=body)

    def place_oco(self, take_profit: dict[str, Any], stop: dict[str, Any]) -> OcoOut:
        """Place two orders (``POST /v1/orders`` bodies) as a one-cancels-other pair."""
        return self._call("POST", "/v1/orders/oco", OcoOut, json={"orders": [take_profit, stop]})

    def place_batch(self, orders: list[dict[str, Any]]) -> BatchOut:
        """Place up to 20 orders in one commit; one outcome each."""
        return self._call("POST", "/v1/orders/batch", BatchOut, json={"orders": orders})

    def amend(self, order_id: str, quantity: int | None = None, price: str | None = None) -> OrderOut:
        """Set a live order's new open quantity and/or price."""
        body = {k: v for k, v in (("quantity", quantity), ("price", price)) if v is not None}
        return self._call("PATCH", f"/v1/orders/{order_id}", OrderOut, json=body)

    def cancel(self, order_id: str) -> OrderOut:
        """Cancel one order."""
        return self._call("DELETE", f"/v1/orders/{order_id}", OrderOut)

    def cancel_all(self, symbol: str | None = None) -> list[OrderOut]:
        """Cancel your live orders (of ``symbol``, or all)."""
        return self._call("DELETE", "/v1/orders", CancelledOut, params={"symbol": symbol}).cancelled

    def cancel_all_after(self, timeout: int) -> CancelTimerOut:
        """Arm or renew the dead-man switch (``0`` disarms)."""
        return self._call("POST", "/v1/orders/cancel-all-after", CancelTimerOut, json={"timeout": timeout})

    def order(self, order_id: str) -> OrderOut:
        """One of your orders."""
        return self._call("GET", f"/v1/orders/{order_id}", OrderOut)

    def orders(
        self,
        status: str | None = None,
        symbol: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        order: str = "asc",
    ) -> Iterator[OrderOut]:
        """Your orders, every page."""
        params = {"status": status, "symbol": symbol, **self._span(start, end, order)}
        return self._pages("/v1/orders", OrderOut, params)

    def fills(
        self, start: datetime | None = None, end: datetime | None = None, order: str = "asc"
    ) -> Iterator[FillOut]:
        """Your fills, every page."""
        return self._pages("/v1/fills", FillOut, self._span(start, end, order))

    def ledger(
        self, start: datetime | None = None, end: datetime | None = None, order: str = "asc"
    ) -> Iterator[EntryOut]:
        """Your ledger entries, every page."""
        return self._pages("/v1/ledger", EntryOut, self._span(start, end, order))

    def positions(self) -> list[PositionOut]:
        """Your positions."""
        return list(self._pages("/v1/positions", PositionOut, {}))

    def move_book(self, product: str, to: str) -> BookMoveOut:
        """Move ``product``'s books to the live shard at ``to`` (an admin key; asked of any process,
        the 421 leads to the holder)."""
        return self._call("POST", f"/v1/admin/products/{product}/move", BookMoveOut, json={"to": to})


# -- the stream -----------------------------------------------------------------------------------


@dataclass
class GapDetector:
    """The stream's sequence rule per channel: a snapshot (``prev_seq`` null) starts a chain, and
    every later message's ``prev_seq`` must be the ``seq`` before it. ``last`` holds the chains."""

    last: dict[str, int] = field(default_factory=dict)

    def accept(self, message: dict[str, Any]) -> bool:
        """Whether ``message`` continues its channel's chain (non-channel messages always do). A
        snapshot, or the first message of a channel without snapshots (trades, ticker, orders),
        starts a chain; a broken chain is forgotten, so the channel's next message starts it again."""
        channel = message.get("channel")
        if channel is None or "seq" not in message:
            return True
        known = self.last.get(channel)
        if message.get("type") != "snapshot" and known is not None and message.get("prev_seq") != known:
            del self.last[channel]
            return False
        self.last[channel] = message["seq"]
        return True


class Stream:
    """Follow ``channels`` of the stream at ``url`` (``ws://host:port/v1/stream``), authenticated
    with ``key`` when given (private channels need it), optionally with cancel-on-disconnect.

    Iterate it (``async for message in stream``) for channel messages that passed the sequence
    check. A gap resubscribes its channel (the next message is a fresh snapshot); a dropped
    connection is reopened after ``retry_seconds`` and every channel resubscribed; ``gaps`` and
    ``reconnects`` count both.
    """

    def __init__(
        self,
        url: str,
        channels: list[str],
        key: str | None = None,
        *,
        cancel_on_disconnect: bool = False,
        retry_seconds: float = 0.5,
        max_reconnects: int | None = None,
    ) -> None:
        self.url = url
        self.channels = list(channels)
        self.key = key
        self.cancel_on_disconnect = cancel_on_disconnect
        self.retry_seconds = retry_seconds
        self.max_reconnects = max_reconnects
        self.gaps = 0
        self.reconnects = 0
        self.detector = GapDetector()

    async def _open(self) -> Any:
        socket = await websockets.connect(self.url)
        if self.key is not None:
            await socket.send(json.dumps({"op": "auth", "key": self.key}))
            if self.cancel_on_disconnect:
                await socket.send(json.dumps({"op": "cancel_on_disconnect", "enabled": True}))
        await socket.send(json.dumps({"op": "subscribe", "channels": self.channels}))
        return socket

    async def _resubscribe(self, socket: Any, channel: str) -> None:
        await socket.send(json.dumps({"op": "unsubscribe", "channels": [channel]}))
        await socket.send(json.dumps({"op": "subscribe", "channels": [channel]}))

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        socket = await self._open()
        try:
            while True:
                try:
                    raw = await socket.recv()
                except websockets.ConnectionClosed:
                    if self.max_reconnects is not None and self.reconnects >= self.max_reconnects:
                        return
                    self.reconnects += 1
                    self.detector = GapDetector()  # every channel starts again with its snapshot
                    socket = await self._reopen()
                    continue
                message = json.loads(raw)
                if not self.detector.accept(message):
                    self.gaps += 1
                    await self._resubscribe(socket, message["channel"])
                    continue
                if "channel" in message:
                    yield message
        finally:
            await socket.close()

    async def _reopen(self) -> Any:
        while True:
            await asyncio.sleep(self.retry_seconds)
            try:
                return await self._open()
            except (OSError, websockets.InvalidHandshake):
                continue
