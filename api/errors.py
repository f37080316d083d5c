"""RFC 9457 problem details: every error the API returns, in one shape.

Each failure carries a stable machine-readable ``code`` (the exchange service's ``MarketError.code`` or
one of the API's own, such as ``validation_error`` or ``rate_limited``) so that clients branch on the
code, never on the human message. A market error's HTTP status is the one the exchange service assigns
to its code (``market.errors.HTTP_STATUS``), so the mapping lives in one place.
Unexpected exceptions become a bare 500 problem: the traceback goes to the log, never to the client.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from market.errors import MarketError

logger = logging.getLogger("flopex.api")

PROBLEM_JSON = "application/problem+json"

#: Status -> code for errors raised by the framework itself (routing, body size, media type).
_CODE_BY_STATUS: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(Exception):
    """An error raised by the API layer itself (auth, pagination, idempotency, limits)."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        field: str | None = None,
        status: int = 400,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.status = status
        self.headers = headers or {}


def problem_body(
    status: int,
    code: str,
    detail: str,
    *,
    instance: str | None = None,
    errors: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """The JSON object of one problem (``type`` is a URN derived from the stable ``code``)."""
    body: dict[str, Any] = {
        "type": f"urn:flopex:problem:{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "code": code,
        "detail": detail,
    }
    if instance is not None:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return body


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    instance: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    """One problem-details response."""
    body = problem_body(status, code, detail, instance=instance, errors=errors)
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


_NAMED_FIELD = re.compile(r"(?:unknown|missing required) field `([^`]+)`")
_AT_PATH = re.compile(r" - at `\$\.?([^`]*)`$")


def _field_error(item: dict[str, Any]) -> dict[str, str]:
    """Turn one of Litestar's validation items into ``{"field", "reason"}``.

    msgspec reports unknown and missing fields against the whole body, and nested errors with a
    ``$.a.b`` path; all are rewritten so that ``field`` names the offending field itself.
    """
    message = str(item.get("message", "invalid value"))
    key = str(item.get("key") or "")
    source = item.get("source")
    if source == "body" and key == "data":
        key = ""
    named = _NAMED_FIELD.search(message)
    if named:
        key = f"{key}.{named.group(1)}" if key else named.group(1)
        unknown = message.startswith("Object contains unknown")
        message = "unknown field" if unknown else "required field is missing"
    nested = _AT_PATH.search(message)
    if nested:
        message = message[: nested.start()]
        if nested.group(1):
            key = f"{key}.{nested.group(1)}" if key else nested.group(1)
    if message == "'data'" or (source == "body" and not key and message.startswith("'")):
        message = "a JSON request body is required"
    return {"field": key or "body", "reason": message}


def _on_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    extra = exc.extra if isinstance(exc.extra, list) else []
    errors = [_field_error(item) for item in extra if isinstance(item, dict)]
    detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors) if errors else str(exc.detail)
    return problem(400, "validation_error", detail, instance=request.url.path, errors=errors)


def _on_market(request: Request[Any, Any, Any], exc: MarketError) -> Response[dict[str, Any]]:
    errors = [{"field": exc.field, "reason": exc.message}] if exc.field else None
    return problem(exc.status, exc.code, exc.message, instance=request.url.path, errors=errors)


def _on_api(request: Request[Any, Any, Any], exc: ApiError) -> Response[dict[str, Any]]:
    errors = [{"field": exc.field, "reason": exc.message}] if exc.field else None
    return problem(
        exc.status, exc.code, exc.message, instance=request.url.path, errors=errors, headers=exc.headers
    )


def _on_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    code = _CODE_BY_STATUS.get(status, "bad_request" if status < 500 else "internal_error")
    headers = dict(exc.headers) if exc.headers else None
    return problem(status, code, str(exc.detail), instance=request.url.path, headers=headers)


def _on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(
        HTTP_500_INTERNAL_SERVER_ERROR,
        "internal_error",
        "the server failed to handle this request; it has been logged",
        instance=request.url.path,
    )


EXCEPTION_HANDLERS = {
    ValidationException: _on_validation,
    MarketError: _on_market,
    ApiError: _on_api,
    HTTPException: _on_http,
    Exception: _on_unexpected,
}
"""Handlers for :class:`litestar.Litestar` ``exception_handlers`` (most specific class wins)."""

__all__ = ["EXCEPTION_HANDLERS", "PROBLEM_JSON", "ApiError", "problem", "problem_body"]
