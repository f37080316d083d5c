"""Rebuilding the books on start, and checking them against what the database says.

The command log is the source of the books: replaying it, in order, through a fresh engine must
reproduce every stored event byte for byte (the engine is deterministic). Then every live order row
must rest in the rebuilt book with the same open quantity, and nothing may rest that the database
does not hold as live. A book that fails either check is refused (it does not trade) rather than
opened in a state nobody can explain.

An operator's way back is a ``reset`` command for the book (:mod:`market.rebuild`): it empties the
book and cancels its live orders, so what was logged for that book before it no longer decides
whether the book opens (the stored events stay as the record of what happened).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import sqlalchemy as sa

from market.instruments import Instrument
from market.partitions import ALL
from market.sharing.shards import split_products
from market.store import dumps
from market.tables import Command, Order
from market.tables import Instrument as InstrumentTable
from market.trading import Trading
from market.vocabulary import CONDITIONAL_TYPES, LIVE

_commands = Command.__table__
_instruments = InstrumentTable.__table__
_orders = Order.__table__

MAX_DIVERGENCES = 20
"""How many diverging commands a diagnosis keeps (it counts them all)."""


@dataclass(frozen=True)
class Divergence:
    """A logged command whose replayed events differ from the stored ones (both as stored JSON)."""

    command_id: int
    created_us: int
    command: str
    stored: str
    replayed: str


@dataclass
class Replay:
    """What a replay of the command log found.

    ``last_bad`` and ``last_reset`` map a symbol to the position in the log of its last diverging
    command and of its last ``reset``; ``divergences`` holds the first :data:`MAX_DIVERGENCES`
    diverging commands of the watched symbol (``diverging`` counts them all).
    """

    watch: str | None = None
    last_bad: dict[str, int] = field(default_factory=dict)
    last_reset: dict[str, int] = field(default_factory=dict)
    divergences: list[Divergence] = field(default_factory=list)
    diverging: int = 0

    def refused(self) -> set[str]:
        """Books with a divergence after their last reset."""
        return {s for s, at in self.last_bad.items() if at > self.last_reset.get(s, -1)}


def load(
    connection: sa.Connection, watch: str | None = None, products: frozenset[str] | None = None
) -> tuple[Trading, Replay]:
    """Replay the log into a fresh :class:`Trading` and load the live orders (nothing compared yet).

    ``products``: the books of these products only, each from its own partition (a shard); None:
    every book, from every partition (the single writer)."""
    trading = Trading(holds_all=products is None)
    trading.split = split_products(connection)
    query = sa.select(_instruments).order_by(_instruments.c.created_us, _instruments.c.symbol)
    if products is not None:
        query = query.where(_instruments.c.product.in_(products))
    for row in connection.execute(query):
        trading.add_instrument(Instrument.of(row._mapping))
    replay = _replay(connection, trading, Replay(watch=watch), products)
    for row in connection.execute(sa.select(_orders).where(_orders.c.status.in_(LIVE))):
        order = dict(row._mapping)
        if order["symbol"] in trading.instruments:
            trading.live[order["id"]] = order
    return trading, replay


def rebuild(engine: sa.Engine, products: frozenset[str] | None = None) -> Trading:
    """A :class:`Trading` rebuilt from the database (the books of ``products`` only, unless None),
    with failed books listed in ``refused``."""
    with engine.connect() as connection:
        trading, replay = load(connection, products=products)
    trading.refused |= replay.refused()
    trading.refused |= {s for s, (stored, rested) in resting(trading).items() if stored != rested}
    trading.recount()
    return trading


def _replay(
    connection: sa.Connection, trading: Trading, replay: Replay, products: frozenset[str] | None
) -> Replay:
    engine = trading.engine
    query = sa.select(
        _commands.c.id,
        _commands.c.partition,
        _commands.c.symbol,
        _commands.c.command,
        _commands.c.events,
        _commands.c.created_us,
    ).order_by(_commands.c.id)
    if products is not None:
        query = query.where(_commands.c.partition.in_(products))
    result = connection.execution_options(yield_per=2000).execute(query)
    for at, (command_id, partition, symbol, command_text, events_text, created_us) in enumerate(result):
        command = json.loads(command_text)
        events = engine.apply(command, partition)
        op = command.get("op")
        if op == "time":
            trading.clocks[partition] = command["now"]
        replayed = dumps(events)
        if replayed != events_text:
            # a tick touches every book of its partition
            touched = _books_of(trading, partition) if symbol is None else {symbol}
            for name in touched:
                replay.last_bad[name] = at
            if replay.watch in touched:
                replay.diverging += 1
                if len(replay.divergences) < MAX_DIVERGENCES:
                    replay.divergences.append(
                        Divergence(command_id, created_us, command_text, events_text, replayed)
                    )
        if op == "reset" and symbol is not None:
            replay.last_reset[symbol] = at
    return replay


def _books_of(trading: Trading, partition: str) -> set[str]:
    """The books whose commands go to ``partition`` (every book for the single writer's)."""
    if partition == ALL:
        return set(trading.instruments)
    return {s for s in trading.instruments if trading.engine.partition_of({"symbol": s}) == partition}


def resting(trading: Trading) -> dict[str, tuple[dict[str, int], dict[str, int]]]:
    """Per book: the open quantity of each order the database holds live (stops and trailing stops
    not yet triggered left out: they wait outside the book) and of each order resting in the replayed book."""
    stored: dict[str, dict[str, int]] = {s: {} for s in trading.instruments}
    for order in trading.live.values():
        if order["type"] in CONDITIONAL_TYPES and not order["triggered"]:
            continue
        stored.setdefault(order["symbol"], {})[order["id"]] = order["open_qty"]
    books = {}
    for symbol in trading.instruments:
        snapshot = trading.engine.snapshot(symbol)
        levels = snapshot["bids"] + snapshot["asks"]
        books[symbol] = (stored[symbol], {o["id"]: o["qty"] for level in levels for o in level["orders"]})
    return books
