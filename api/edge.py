"""The strict edge: what every request must satisfy before a handler sees it.

Litestar converts request bodies and query strings in msgspec's *lax* mode (query strings arrive as
text, so it must), which would also let a JSON body say ``"quantity": "1"``, ``1.0`` or ``1e0``,
``"post_only": 1`` or ``"gpus": "8"``. The docs promise strict typing, so this ``before_request``
hook, run for every route before its parameters are parsed, checks:

- a body goes with ``Content-Type: application/json`` (or a ``+json`` type): anything else is
  ``415 unsupported_media_type``;
- the JSON nests at most :data:`MAX_DEPTH` levels (deeper documents would exhaust the decoder's
  recursion and be a 500): ``400 validation_error``;
- the body decodes *strictly* into the route's declared type (no strings or floats for integers, no
  integers for booleans): ``400 validation_error`` naming the field;
- path and query parameters match their declared type, pattern and length (Litestar checks the
  bounds it declares itself, not the patterns of msgspec ``Meta``: ``?symbol=lower`` passed), and a
  query parameter the route does not declare is an error, like an unknown body field;
- every instant, in the body or in the query string, carries a UTC offset and lies in
  [:data:`EARLIEST`, :data:`LATEST`): dates outside would overflow the market's arithmetic
  (``0001-01-01`` minus an interval, a forward starting in year 9999).

Afterwards Litestar parses the same input again; whatever passed here converts identically.
"""

from __future__ import annotations

import re
import typing
from datetime import UTC, datetime
from itertools import accumulate
from pathlib import PurePath
from typing import Any

import msgspec
from litestar import Request
from litestar.datastructures import UploadFile
from litestar.exceptions import ValidationException

from api.errors import ApiError

MAX_DEPTH = 32
"""Deepest JSON nesting accepted: the deepest valid request (a pricing request) nests five levels."""
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth(body: bytes) -> int:
    """How deep the arrays and objects of a JSON text nest (strings are skipped)."""
    brackets = _STRING.sub(b"", body).translate(None, delete=_NOT_BRACKETS)
    if not brackets:
        return 0
    steps = (1 if b in b"[{" else -1 for b in brackets)
    return max(accumulate(steps))


def _invalid(field: str, reason: str) -> ValidationException:
    return ValidationException(
        detail=f"{field}: {reason}", extra=[{"key": field, "message": reason, "source": "query"}]
    )


def _check_instant(value: datetime, field: str) -> None:
    if value.tzinfo is None:
        raise _invalid(field, "needs a UTC offset (e.g. 2027-01-01T00:00:00Z)")
    if not EARLIEST <= value < LATEST:
        raise _invalid(field, f"must lie between {EARLIEST.year} and {LATEST.year - 1}")


def _instants(value: Any, path: str) -> typing.Iterator[tuple[str, datetime]]:
    """Every datetime inside a decoded body, with its field path."""
    if isinstance(value, datetime):
        yield path, value
    elif isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            yield from _instants(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _instants(item, f"{path}[{i}]")


def _mentions_datetime(annotation: Any) -> bool:
    if annotation is datetime:
        return True
    return any(_mentions_datetime(arg) for arg in typing.get_args(annotation))


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def _check_body(request: Request[Any, Any, Any], annotation: Any) -> None:
    if _raw_upload(annotation):
        return  # a file upload (multipart): its handler reads and checks it
    body = await request.body()
    if not body.strip():
        return  # Litestar answers "a JSON request body is required"
    if not _is_json(request.headers.get("content-type", "")):
        raise ApiError(
            "unsupported_media_type", "send the request body as Content-Type: application/json", status=415
        )
    if json_depth(body) > MAX_DEPTH:
        raise ValidationException(
            detail=f"body: JSON nests deeper than {MAX_DEPTH} levels",
            extra=[{"key": "", "message": f"JSON nests deeper than {MAX_DEPTH} levels", "source": "body"}],
        )
    try:
        decoded = msgspec.json.decode(body, type=annotation, strict=True)
    except msgspec.ValidationError as exc:
        raise ValidationException(
            detail=str(exc), extra=[{"key": "", "message": str(exc), "source": "body"}]
        ) from None
    except msgspec.DecodeError:
        raise ValidationException(
            detail="body is not valid JSON",
            extra=[{"key": "", "message": "body is not valid JSON", "source": "body"}],
        ) from None
    for field, value in _instants(decoded, ""):
        _check_instant(value, field)


def _raw_upload(annotation: Any) -> bool:
    base = typing.get_args(annotation)[0] if typing.get_origin(annotation) is typing.Annotated else annotation
    return base is UploadFile


def _check_parameter(name: str, raw: Any, annotation: Any, source: str) -> None:
    """A path or query parameter against its declared type, patterns and bounds included.

    A file path (the docs' static assets) is left to the static-files router, which resolves it inside
    its directory and answers 404 for anything else."""
    base = typing.get_args(annotation)[0] if typing.get_origin(annotation) is typing.Annotated else annotation
    if isinstance(base, type) and issubclass(base, PurePath):
        return
    try:  # instants strictly: RFC 3339 text only, not a number of seconds ("1e9")
        value = msgspec.convert(raw, annotation, strict=_mentions_datetime(annotation))
    except msgspec.ValidationError as exc:
        reason = str(exc).split(" - at ", 1)[0]
        if _mentions_datetime(annotation):
            reason = "must be an RFC 3339 timestamp with a UTC offset"
        raise ValidationException(
            detail=f"{name}: {reason}", extra=[{"key": name, "message": reason, "source": source}]
        ) from None
    if isinstance(value, datetime):
        _check_instant(value, name)


_RESERVED = frozenset({"request", "socket", "scope", "state", "headers", "cookies", "query", "body", "data"})
"""Handler parameters Litestar fills itself, never from the query string."""


def _query_name(name: str, field: Any) -> str:
    """The name a parameter has in the query string (``QueryParameter(name="type")``), else its own."""
    kwarg = field.kwarg_definition
    return getattr(kwarg, "name", None) or getattr(kwarg, "query", None) or name


def _declared(handler: Any, path_params: Any) -> dict[str, Any]:
    """The query parameters a route declares: its handler's own and those of the dependencies the
    handler takes (the :class:`api.pagination.History` of a history list)."""
    dependencies = handler.resolve_dependencies()
    own = handler.parsed_fn_signature.parameters
    signatures = [own] + [p.parsed_fn_signature.parameters for n, p in dependencies.items() if n in own]
    not_query = _RESERVED | set(dependencies) | set(path_params)
    return {n: f for parameters in signatures for n, f in parameters.items() if n not in not_query}


async def strict_edge(request: Request[Any, Any, Any]) -> None:
    """``before_request`` hook: the checks above, for the route ``request`` was routed to."""
    handler = request.route_handler
    declared = _declared(handler, request.path_params)
    unknown = sorted(
        set(request.query_params) - {_query_name(name, field) for name, field in declared.items()}
    )
    if unknown:
        raise ValidationException(
            detail=f"{unknown[0]}: unknown query parameter",
            extra=[
                {"key": name, "message": "unknown query parameter", "source": "query"} for name in unknown
            ],
        )
    for name, field in handler.parsed_fn_signature.parameters.items():
        if name == "data":
            await _check_body(request, field.annotation)
        elif name in request.path_params:  # ``raw``: Litestar keeps a path parameter's Meta only there
            _check_parameter(name, request.path_params[name], field.raw, "path")
    for name, field in declared.items():
        if (alias := _query_name(name, field)) in request.query_params:
            _check_parameter(alias, request.query_params[alias], field.raw, "query")
