"""Runtime settings, read once from the environment.

Every setting has a default that works on a fresh machine: the database is an SQLite file in the
working directory, the server listens on loopback only.

| variable              | default                  | meaning                                  |
|-----------------------|--------------------------|------------------------------------------|
| FLOPEX_DATABASE_URL   | sqlite:///./flopex.db    | SQLAlchemy URL (SQLite or PostgreSQL)    |
| FLOPEX_HOST           | 127.0.0.1                | address `flopex serve` binds             |
| FLOPEX_PORT           | 8000                     | port `flopex serve` binds                |
| FLOPEX_LOG_LEVEL      | info                     | debug, info, warning, error or critical  |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


class SettingsError(ValueError):
    """An environment variable holds a value flopex cannot use."""


@dataclass(frozen=True)
class Settings:
    """What the server and the CLI need to know about their surroundings."""

    database_url: str = "sqlite:///./flopex.db"
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise SettingsError(f"port must be between 1 and 65535, got {self.port}")
        if self.log_level not in LOG_LEVELS:
            raise SettingsError(f"log level must be one of {', '.join(LOG_LEVELS)}, got {self.log_level!r}")
        if not self.database_url.strip():
            raise SettingsError("database URL must not be empty")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``FLOPEX_*`` variables, falling back to the defaults."""
        env = os.environ if environ is None else environ
        defaults = cls()
        port_text = env.get("FLOPEX_PORT", str(defaults.port))
        try:
            port = int(port_text)
        except ValueError:
            raise SettingsError(f"FLOPEX_PORT must be an integer, got {port_text!r}") from None
        return cls(
            database_url=env.get("FLOPEX_DATABASE_URL", defaults.database_url),
            host=env.get("FLOPEX_HOST", defaults.host),
            port=port,
            log_level=env.get("FLOPEX_LOG_LEVEL", defaults.log_level).lower(),
        )

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with the given fields replaced, skipping those given as None (unset CLI options)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})
