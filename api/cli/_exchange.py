"""The exchange straight on the database, for commands that run use cases without a server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from api.cli import UserError
from api.cli._options import require_schema, resolve_database_url


@contextmanager
def open_exchange(database_url: str | None, *, books: bool, who: str) -> Iterator[Any]:
    """The exchange on the database; with ``books``, started under the writer lock as ``who`` (refused
    while a ``flopex serve`` holds the books: use the HTTP routes then). Market refusals become
    UserErrors."""
    from market.db import make_engine
    from market.errors import MarketError
    from market.service import Exchange
    from market.writer import WriterLock

    url = resolve_database_url(database_url)
    require_schema(url)
    engine = make_engine(url)
    exchange = Exchange(engine)
    writer = WriterLock(url, who, exchange.now()) if books else None
    try:
        if writer is not None:
            writer.acquire()
            exchange.start()
        yield exchange
    except MarketError as exc:
        raise UserError(f"{exc.code}: {exc.message}") from None
    finally:
        exchange.close()
        engine.dispose()
        if writer is not None:
            writer.release()
