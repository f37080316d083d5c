"""The planner's input error, and the small readers that produce it with the field's path.

A hedge request is untrusted input (a buyer's CSV, a JSON body), so every value is checked for type,
finiteness and range, every key must be known, and a refusal names the field
(``forecast[12].quantiles.0.9``, ``instruments[3].start``) the way ``pricing.RequestError`` does, of
which ``HedgeInputError`` is a kind: the CLI and the API already turn that into a clear message.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from pricing.request import RequestError

_MISSING: Any = object()


class HedgeInputError(RequestError):
    """An invalid forecast, market snapshot or plan setting: ``path`` names the field."""


class Fields:
    """Reads the keys of one JSON object, tracking its path and rejecting unknown keys."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, dict):
            raise HedgeInputError(path, f"must be an object, got {type(data).__name__}")
        self.data: dict[str, Any] = data
        self.path = path
        self.seen: set[str] = set()

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        self.seen.add(key)
        if key in self.data:
            return self.data[key]
        if default is _MISSING:
            raise HedgeInputError(self.at(key), "is required")
        return default

    def number(self, key: str, default: Any = _MISSING, *, low: float | None = None) -> float | None:
        value = self.raw(key, default)
        if value is None and default is None:
            return None
        return number(value, self.at(key), low=low)

    def text(self, key: str, default: Any = _MISSING) -> str:
        value = self.raw(key, default)
        if not isinstance(value, str) or not value:
            raise HedgeInputError(self.at(key), f"must be a non-empty string, got {value!r}")
        return value

    def instant(self, key: str, default: Any = _MISSING) -> datetime | None:
        value = self.raw(key, default)
        if value is None and default is None:
            return None
        return instant(value, self.at(key))

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise HedgeInputError(self.at(unknown[0]), "is not a known key")


def number(value: object, path: str, *, low: float | None = None, high: float | None = None) -> float:
    """A finite number (not a bool, not a string) within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise HedgeInputError(path, f"must be a number, got {type(value).__name__}")
    result = float(value)
    if not math.isfinite(result):
        raise HedgeInputError(path, f"must be finite, got {value}")
    if low is not None and result < low:
        raise HedgeInputError(path, f"must be at least {low:g}, got {result:g}")
    if high is not None and result > high:
        raise HedgeInputError(path, f"must be at most {high:g}, got {result:g}")
    return result


def instant(value: object, path: str) -> datetime:
    """An ISO 8601 instant with a UTC offset (``2027-01-04T00:00:00Z``), or an aware datetime."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise HedgeInputError(path, f"must be an ISO 8601 instant, got {value!r}") from None
    else:
        raise HedgeInputError(path, f"must be an ISO 8601 instant, got {type(value).__name__}")
    if moment.tzinfo is None:
        raise HedgeInputError(path, f"must carry a UTC offset (e.g. 2027-01-04T00:00:00Z), got {value!r}")
    return moment.astimezone(UTC)


def on_hour(moment: datetime, path: str) -> datetime:
    """``moment`` if it is a whole UTC hour."""
    if moment.minute or moment.second or moment.microsecond:
        raise HedgeInputError(path, f"must be a whole UTC hour, got {moment.isoformat()}")
    return moment
