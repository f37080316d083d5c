"""Cross-origin calls between the ``flopex serve`` processes of one deployment, and nothing else.

A web page served by one process (a standby, a shard) is told by ``421 book_elsewhere`` to send a
book request to the process holding the book, named by its base URL (``api.standby``). That process
is another origin (another port or host), so the browser lets the page call it only if

- the page's Content-Security-Policy lists it in ``connect-src`` (:func:`connect_sources`: the
  shell's policy names ``'self'`` and every live process of the registry when the page loads), and
- the holder answers CORS for the page's origin (:class:`PeerCors`).

The allowed origins are exactly those of the live processes in ``serve_processes``
(``market.sharing.registry.live_urls``, read with every heartbeat into :class:`PeerOrigins`): a page
of this deployment may call any process of it, a page of any other origin gets no CORS header and
the browser keeps the answer from it. Only ``/v1/...`` (the API) answers CORS; requests carry the API
key in ``Authorization``, never a cookie, so no ``Access-Control-Allow-Credentials``. A preflight
(``OPTIONS`` with ``Access-Control-Request-Method``) goes through the rate limiter and
``api.options.AllowedMethods`` like any ``OPTIONS``; this wrapper adds the CORS headers to its
``204``. On SQLite (one process) there are no peers and nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from litestar.types import ASGIApp, Message, Receive, Scope, Send

ALLOWED_HEADERS = b"Authorization, Content-Type, Idempotency-Key"
"""The request headers the API reads beyond the CORS-safelisted ones."""
EXPOSED_HEADERS = b"Retry-After, Idempotent-Replayed, Location"
"""Response headers a page may read beyond the safelisted ones (``Retry-After`` of ``book_moving``)."""
PREFLIGHT_MAX_AGE = b"600"
"""Seconds a browser may keep a preflight's answer (Chromium caps it at 7200)."""
API_PREFIX = "/v1/"


def origin_of(url: str) -> str | None:
    """The origin (``scheme://host[:port]``, lower case, default port dropped) of a base URL, as a
    browser writes it in an ``Origin`` header; None for anything but an http(s) URL with a host."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    default = 80 if scheme == "http" else 443
    return f"{scheme}://{host}" if port in (None, default) else f"{scheme}://{host}:{port}"


@dataclass
class PeerOrigins:
    """The origins of this deployment's live processes, as the last heartbeat read them."""

    origins: frozenset[str] = field(default_factory=frozenset)

    def update(self, urls: list[str]) -> None:
        """Replace the set with the origins of ``urls`` (base URLs of live processes)."""
        self.origins = frozenset(o for o in map(origin_of, urls) if o is not None)


def connect_sources(peers: PeerOrigins | None) -> str:
    """The ``connect-src`` of the shell's Content-Security-Policy: ``'self'`` and every live peer."""
    return " ".join(["'self'", *sorted(peers.origins if peers is not None else ())])


class PeerCors:
    """ASGI wrapper: CORS headers on ``/v1/...`` answers to a page of a live peer (see the module)."""

    def __init__(self, app: ASGIApp, peers: PeerOrigins) -> None:
        self.app = app
        self.peers = peers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        origin = headers.get(b"origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        allowed = origin.decode("latin-1") in self.peers.origins
        preflight = scope["method"] == "OPTIONS" and b"access-control-request-method" in headers

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [(b"vary", b"Origin")]
                if allowed:
                    extra.append((b"access-control-allow-origin", origin))
                    if preflight and message["status"] == 204:
                        allow = dict(message.get("headers", [])).get(b"allow", b"")
                        extra += [
                            (b"access-control-allow-methods", allow),
                            (b"access-control-allow-headers", ALLOWED_HEADERS),
                            (b"access-control-max-age", PREFLIGHT_MAX_AGE),
                        ]
                    else:
                        extra.append((b"access-control-expose-headers", EXPOSED_HEADERS))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_cors)
