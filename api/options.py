"""``OPTIONS`` for every path: ``204`` with an ``Allow`` header listing every method the path serves.

Litestar builds one ``OPTIONS`` handler per route handler, so where several handlers share a path
(``GET``, ``POST`` and ``DELETE /v1/orders``) the answer named only some of them, and the guards of a
controller made it a 401. This wrapper answers ``OPTIONS`` itself from the application's route table,
without authentication (it reveals nothing the OpenAPI document does not), and passes everything else
on. A path no route serves is left to the application (a 404 problem).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Receive, Scope, Send

_PARAMETER = re.compile(r"\\\{[^}]+\\\}")


def _matcher(path_format: str) -> re.Pattern[str]:
    """``/v1/orders/{order_id}`` -> a regex matching one segment for each parameter."""
    return re.compile("^" + _PARAMETER.sub("[^/]+", re.escape(path_format)) + "/?$")


class AllowedMethods:
    """ASGI wrapper answering ``OPTIONS`` (see the module docstring)."""

    def __init__(self, app: ASGIApp, routes: Iterable[object]) -> None:
        self.app = app
        http = [route for route in routes if isinstance(route, HTTPRoute)]
        # static paths first, so /v1/orders/by-client-id/x is not taken for /v1/orders/{order_id}
        http.sort(key=lambda route: ("{" in route.path_format, route.path_format))
        self._routes = [(_matcher(route.path_format), ", ".join(sorted(route.methods))) for route in http]

    def allowed(self, path: str) -> str | None:
        """The ``Allow`` value for ``path``, or None if no route serves it."""
        for matcher, methods in self._routes:
            if matcher.match(path):
                return methods
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        allow = None
        if scope["type"] == "http" and scope["method"] == "OPTIONS":
            allow = self.allowed(scope["path"])
        if allow is None:
            await self.app(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 204, "headers": [(b"allow", allow.encode())]})
        await send({"type": "http.response.body", "body": b""})
