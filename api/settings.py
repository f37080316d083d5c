"""Runtime settings, read once from the environment.

Every setting has a default that works on a fresh machine: the database is an SQLite file in the
working directory, the server listens on loopback only.

| variable              | default                  | meaning                                  |
|-----------------------|--------------------------|------------------------------------------|
| FLOPEX_DATABASE_URL   | sqlite:///./flopex.db    | SQLAlchemy URL (SQLite or PostgreSQL)    |
| FLOPEX_HOST           | 127.0.0.1                | address `flopex serve` binds             |
| FLOPEX_PORT           | 8000                     | port `flopex serve` binds                |
| FLOPEX_LOG_LEVEL      | info                     | debug, info, warning, error or critical  |
| FLOPEX_RATE_LIMIT     | 50                       | API requests per second per key (0: off) |
| FLOPEX_RATE_BURST     | 100                      | requests a key may send at once          |
| FLOPEX_PRICE_BUDGET   | 20                       | pricing CPU seconds per minute per key   |
| FLOPEX_LIFECYCLE_SECONDS | 10                    | how often `serve` runs due duties (0: off) |
| FLOPEX_PRICE_MAX_COST | 50000000                 | most simulated path points per request   |
| FLOPEX_PRICE_WORKERS  | 2                        | pricing worker processes                 |
| FLOPEX_PRICE_TIMEOUT  | 30                       | seconds before a pricing request is cut  |
| FLOPEX_MAX_OPEN_ORDERS| 1000                     | open orders an account may hold at once  |
| FLOPEX_CURSOR_SECRET  | (random per process)     | key that signs pagination cursors        |
| FLOPEX_CLOCK_START    | (unset: the wall clock)  | RFC 3339 instant the exchange clock starts at |
| FLOPEX_REPORTS_DIR    | (none)                   | CLI reports published at /v1/reports     |
| FLOPEX_STANDBY        | 0                        | 1: wait to take the books over (PostgreSQL) |
| FLOPEX_PUBLIC_URL     | http://HOST:PORT         | base URL other processes send clients to |
| FLOPEX_PRODUCTS       | (all)                    | H100,H200: hold these products' books, a shard |

``FLOPEX_CLOCK_START`` is for staging, demos and tests: the exchange clock starts at that instant when
the process starts and runs at the wall clock's pace from there.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
N = TypeVar("N", int, float)


_PRODUCT_ID = re.compile(r"[A-Z][A-Z0-9]{0,15}")


def parse_products(text: str | None) -> tuple[str, ...] | None:
    """A shard's products from ``H100,H200`` (``FLOPEX_PRODUCTS`` / ``--products``); None when unset."""
    if text is None or not text.strip():
        return None
    return tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))


class SettingsError(ValueError):
    """An environment variable holds a value flopex cannot use."""


def _number(env: Mapping[str, str], name: str, default: N, kind: type[N]) -> N:
    """An int or float variable, or a :class:`SettingsError` naming it."""
    text = env.get(name, str(default))
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value):
        raise SettingsError(f"{name} must be {'an integer' if kind is int else 'a number'}, got {text!r}")
    return value


def _instant(env: Mapping[str, str], name: str) -> datetime | None:
    """An RFC 3339 instant variable (None when unset), or a :class:`SettingsError` naming it."""
    text = env.get(name)
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise SettingsError(
            f"{name} must be an RFC 3339 instant such as 2027-03-10T09:00:00Z, got {text!r}"
        ) from None


def _flag(env: Mapping[str, str], name: str) -> bool:
    """A 0/1 variable (unset: 0), or a :class:`SettingsError` naming it."""
    text = env.get(name, "0")
    if text not in ("0", "1"):
        raise SettingsError(f"{name} must be 0 or 1, got {text!r}")
    return text == "1"


@dataclass(frozen=True)
class Settings:
    """What the server and the CLI need to know about their surroundings."""

    database_url: str = "sqlite:///./flopex.db"
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    rate_limit: float = 50.0
    rate_burst: int = 100
    price_budget: float = 20.0
    lifecycle_seconds: float = 10.0
    price_max_cost: int = 50_000_000
    price_workers: int = 2
    price_timeout: float = 30.0
    max_open_orders: int = 1000
    cursor_secret: str = ""
    clock_start: datetime | None = None
    reports_dir: str = ""
    standby: bool = False
    public_url: str = ""
    products: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise SettingsError(f"port must be between 1 and 65535, got {self.port}")
        if self.log_level not in LOG_LEVELS:
            raise SettingsError(f"log level must be one of {', '.join(LOG_LEVELS)}, got {self.log_level!r}")
        if not self.database_url.strip():
            raise SettingsError("database URL must not be empty")
        if self.rate_limit < 0 or self.rate_burst < 1 or self.price_budget <= 0:
            raise SettingsError("rate limit must be >= 0, burst >= 1 and price budget > 0")
        if self.lifecycle_seconds < 0:
            raise SettingsError("the lifecycle interval must be >= 0 seconds (0 turns it off)")
        if self.price_max_cost < 1 or self.price_workers < 1 or self.price_timeout <= 0:
            raise SettingsError("price max cost and workers must be >= 1 and the price timeout > 0")
        if self.max_open_orders < 1:
            raise SettingsError(f"max open orders must be >= 1, got {self.max_open_orders}")
        if self.products is not None:
            if not self.products:
                raise SettingsError("--products needs at least one product id, e.g. H100,H200")
            if self.standby:
                raise SettingsError("a shard (--products) takes over dead shards' books itself: no --standby")
            for product in self.products:
                if not _PRODUCT_ID.fullmatch(product):
                    raise SettingsError(f"not a product id: {product!r} (upper-case letters and digits)")
        if self.clock_start is not None and self.clock_start.utcoffset() is None:
            raise SettingsError("the clock start needs a UTC offset, e.g. 2027-03-10T09:00:00Z")

    def clock(self) -> Callable[[], datetime]:
        """The exchange clock: the wall clock, or one that starts at ``clock_start`` now and runs at the
        wall clock's pace (a monotonic clock measures the pace, so it never jumps)."""
        from market.house import utc_now

        if self.clock_start is None:
            return utc_now
        start, origin = self.clock_start.astimezone(UTC), time.monotonic()
        return lambda: start + timedelta(seconds=time.monotonic() - origin)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``FLOPEX_*`` variables, falling back to the defaults."""
        env = os.environ if environ is None else environ
        defaults = cls()
        port = _number(env, "FLOPEX_PORT", defaults.port, int)
        return cls(
            database_url=env.get("FLOPEX_DATABASE_URL", defaults.database_url),
            host=env.get("FLOPEX_HOST", defaults.host),
            port=port,
            log_level=env.get("FLOPEX_LOG_LEVEL", defaults.log_level).lower(),
            rate_limit=_number(env, "FLOPEX_RATE_LIMIT", defaults.rate_limit, float),
            rate_burst=_number(env, "FLOPEX_RATE_BURST", defaults.rate_burst, int),
            price_budget=_number(env, "FLOPEX_PRICE_BUDGET", defaults.price_budget, float),
            lifecycle_seconds=_number(env, "FLOPEX_LIFECYCLE_SECONDS", defaults.lifecycle_seconds, float),
            price_max_cost=_number(env, "FLOPEX_PRICE_MAX_COST", defaults.price_max_cost, int),
            price_workers=_number(env, "FLOPEX_PRICE_WORKERS", defaults.price_workers, int),
            price_timeout=_number(env, "FLOPEX_PRICE_TIMEOUT", defaults.price_timeout, float),
            max_open_orders=_number(env, "FLOPEX_MAX_OPEN_ORDERS", defaults.max_open_orders, int),
            cursor_secret=env.get("FLOPEX_CURSOR_SECRET", defaults.cursor_secret),
            clock_start=_instant(env, "FLOPEX_CLOCK_START"),
            reports_dir=env.get("FLOPEX_REPORTS_DIR", defaults.reports_dir),
            standby=_flag(env, "FLOPEX_STANDBY"),
            public_url=env.get("FLOPEX_PUBLIC_URL", defaults.public_url),
            products=parse_products(env.get("FLOPEX_PRODUCTS")),
        )

    @property
    def base_url(self) -> str:
        """The base URL clients reach this process at (``public_url``, else built from host and port)."""
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with the given fields replaced, skipping those given as None (unset CLI options)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})
