"""One writer per SQLite database: an operating-system lock on a file next to the database.

Two processes serving one SQLite file would each hold their own books and never match each other's
orders (and the command log they share would no longer replay). ``flopex serve`` and ``flopex
lifecycle run`` therefore take :class:`WriterLock` first: an exclusive ``flock`` on ``<db>.lock``
holding the holder's description (pid, command, host, since when). The operating system drops the
lock when its holder exits, however it exits, so a crashed server never blocks the next one. A second
process is refused with :class:`~market.errors.BookUnavailableError` naming the holder. PostgreSQL
needs no file: it refuses a second writer per book itself (advisory locks, see :mod:`market.store`).
"""

from __future__ import annotations

import fcntl
import os
import socket
from datetime import datetime
from pathlib import Path
from typing import IO

import sqlalchemy as sa

from market.errors import BookUnavailableError


def lock_path(url: str | sa.URL) -> Path | None:
    """The lock file of an SQLite database file (None for PostgreSQL and in-memory databases)."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database).expanduser().resolve().with_name(Path(parsed.database).name + ".lock")


class WriterLock:
    """The exclusive right to write one SQLite database, held until :meth:`release` or process exit."""

    def __init__(self, url: str | sa.URL, what: str, now: datetime) -> None:
        self._path = lock_path(url)
        self._what = what
        self._now = now
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`BookUnavailableError` naming the process that holds it."""
        if self._path is None or self._file is not None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        handle = self._path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            database = self._path.with_name(self._path.name.removesuffix(".lock"))
            raise BookUnavailableError(
                f"{database} is already served by {holder}; one process writes an SQLite database"
            ) from None
        handle.seek(0)
        handle.truncate()
        since = f"{self._now:%Y-%m-%dT%H:%M:%SZ}"
        handle.write(f"pid {os.getpid()} ({self._what} on {socket.gethostname()}, since {since})\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        """Give the lock up (closing the file releases it)."""
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
            self._file.close()
            self._file = None

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
