"""The web interface: an HTML shell at ``/`` and its scripts, styles and vendored libraries at ``/ui``.

The interface is a client of the public API and the stream like any other: the browser reads
``/v1/...`` and subscribes on ``/v1/stream`` with the API key the user typed in (kept in the tab's
``sessionStorage``), so the server adds no route the interface alone could call -- only these static
files. Everything it loads comes from the package (``api/static/ui``; the charting library is
vendored with its licence), so it works offline, and a strict Content-Security-Policy keeps a page
from loading or sending anything to another origin -- but the other ``flopex serve`` processes of
its deployment (on PostgreSQL), which its API calls may be sent to by a ``421 book_elsewhere``: the
policy's ``connect-src`` names the live ones when the page loads (``api.cors``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.response import File
from litestar.static_files import create_static_files_router

from api.cors import connect_sources

UI = Path(__file__).parent / "static" / "ui"
ASSETS_PATH = "/ui"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src {connect}; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""Only this origin (and, for API calls, the live peers of this deployment): no CDN, no beacon, no
frame. Inline styles are allowed because the charting library positions its canvases with
``style`` attributes; scripts are never inline."""


@get("/", include_in_schema=False, cache_control=CacheControlHeader(no_cache=True), sync_to_thread=False)
def shell(request: Request[Any, Any, Any]) -> File:
    """The single page every view of the interface starts from (views are ``#/...`` fragments)."""
    presence = request.app.state.get("presence")
    connect = connect_sources(presence.peers if presence is not None else None)
    return File(
        UI / "index.html",
        content_disposition_type="inline",
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY.format(connect=connect),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


def ui_routes() -> list[object]:
    """The shell and the static assets (revalidated on each load, so an upgrade is never half-seen)."""
    assets: Router = create_static_files_router(
        path=ASSETS_PATH,
        directories=[UI],
        include_in_schema=False,
        name="ui-assets",
        cache_control=CacheControlHeader(no_cache=True),
    )
    return [shell, assets]
