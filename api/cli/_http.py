"""A small JSON client for the commands that ask a running ``flopex serve`` (books live in its process)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import click

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


def get_json(base: str, path: str, **params: Any) -> Any:
    """GET ``path`` with query ``params``; a problem document or an unreachable server is a UserError."""
    from api.cli import UserError

    query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    target = f"{base}{path}" + (f"?{query}" if query else "")
    try:
        with urllib.request.urlopen(target, timeout=120) as response:
            return json.load(response)
    except urllib.error.HTTPError as exc:
        try:
            problem = json.load(exc)
        except ValueError:
            raise UserError(f"{target}: HTTP {exc.code}") from None
        fields = "; ".join(f"{e['field']}: {e['reason']}" for e in problem.get("errors", []))
        raise UserError(f"{problem.get('code', exc.code)}: {fields or problem.get('detail', '')}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise UserError(
            f"cannot reach the flopex server at {base} ({exc}); start it with flopex serve"
        ) from None
