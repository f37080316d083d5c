"""A small JSON client for the commands that ask a running ``flopex serve`` (books live in its process)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from api.client import Client

url_option = click.option(
    "--url",
    default=None,
    metavar="URL",
    help="The flopex server (default: http://$FLOPEX_HOST:$FLOPEX_PORT, i.e. http://127.0.0.1:8000).",
)


def base_url(url: str | None) -> str:
    """The URL given, else the one ``flopex serve`` binds by the environment's settings."""
    from api.cli import UserError
    from api.settings import Settings, SettingsError

    if url:
        return url.rstrip("/")
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        raise UserError(str(exc)) from None
    return f"http://{settings.host}:{settings.port}"


key_option = click.option(
    "--api-key",
    envvar="FLOPEX_API_KEY",
    required=True,
    metavar="KEY",
    help="Your API key (default: $FLOPEX_API_KEY).",
)


def get_json(base: str, path: str, **params: Any) -> Any:
    """GET ``path`` with query ``params``; a problem document or an unreachable server is a UserError."""
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    return _send(urllib.request.Request(f"{base}{path}" + (f"?{query}" if query else "")), base)


def send_json(
    base: str, method: str, path: str, api_key: str, body: Any = None, headers: dict[str, str] | None = None
) -> Any:
    """``method`` ``path`` with the caller's key (and a JSON ``body``); errors as in :func:`get_json`."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{base}{path}",
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json", **(headers or {})},
    )
    return _send(request, base)


def get_text(base: str, path: str, api_key: str, **params: Any) -> str:
    """GET ``path`` with the caller's key and query ``params`` as text (CSV); errors as :func:`get_json`."""
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    url = f"{base}{path}" + (f"?{query}" if query else "")
    return _send(urllib.request.Request(url, headers={"Authorization": f"Bearer {api_key}"}), base, text=True)


def _send(request: urllib.request.Request, base: str, text: bool = False) -> Any:
    from api.cli import UserError

    target = request.full_url
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return response.read().decode() if text else json.load(response)
    except urllib.error.HTTPError as exc:
        try:
            problem = json.load(exc)
        except ValueError:
            raise UserError(f"{target}: HTTP {exc.code}") from None
        raise UserError(
            problem_line(problem.get("code", exc.code), problem.get("detail", ""), problem.get("errors"))
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        raise unreachable(base, exc) from None


def problem_line(code: object, detail: str, errors: list[dict[str, str]] | None) -> str:
    """A problem document as one line: its code, then its field errors or else its detail."""
    fields = "; ".join(f"{e['field']}: {e['reason']}" for e in errors or [])
    return f"{code}: {fields or detail}"


def unreachable(base: str, exc: Exception) -> click.ClickException:
    """The error of a server that does not answer at ``base``, saying how to start one."""
    from api.cli import UserError

    return UserError(f"cannot reach the flopex server at {base} ({exc}); start it with flopex serve")


@contextmanager
def api_client(url: str | None, api_key: str) -> Iterator[Client]:
    """The typed :class:`api.client.Client` of the server at ``url`` with ``api_key``; an error answer
    or an unreachable server leaving the block becomes a UserError, as in :func:`get_json`."""
    import httpx

    from api.cli import UserError
    from api.client import Client, FlopexError

    base = base_url(url)
    try:
        with Client(base, api_key) as client:
            yield client
    except FlopexError as exc:
        raise UserError(problem_line(exc.code, exc.detail, exc.errors)) from None
    except httpx.TransportError as exc:
        raise unreachable(base, exc) from None
