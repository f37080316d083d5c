"""Rebuilding the books on start, and checking them against what the database says.

The command log is the source of the books: replaying it, in order, through a fresh engine must
reproduce every stored event byte for byte (the engine is deterministic). Then every live order row
must rest in the rebuilt book with the same open quantity, and nothing may rest that the database
does not hold as live. A book that fails either check is refused (it does not trade) rather than
opened in a state nobody can explain.
"""

from __future__ import annotations

import json

import sqlalchemy as sa

from market.store import dumps
from market.tables import Command, Instrument, Order
from market.trading import Trading
from market.vocabulary import LIVE, STOP_TYPES

_commands = Command.__table__
_instruments = Instrument.__table__
_orders = Order.__table__


def rebuild(engine: sa.Engine) -> Trading:
    """A :class:`Trading` rebuilt from the database, with failed books listed in ``refused``."""
    trading = Trading()
    with engine.connect() as connection:
        for row in connection.execute(
            sa.select(_instruments).order_by(_instruments.c.created_us, _instruments.c.symbol)
        ):
            trading.add_instrument(dict(row._mapping))
        _replay(connection, trading)
        for row in connection.execute(sa.select(_orders).where(_orders.c.status.in_(LIVE))):
            order = dict(row._mapping)
            trading.live[order["id"]] = order
        trading.refused |= _compare(trading)
        trading.recount()
    return trading


def _replay(connection: sa.Connection, trading: Trading) -> None:
    engine = trading.engine
    result = connection.execution_options(yield_per=2000).execute(
        sa.select(_commands.c.symbol, _commands.c.command, _commands.c.events).order_by(_commands.c.id)
    )
    for symbol, command_text, events_text in result:
        command = json.loads(command_text)
        events = engine.apply(command)
        if command.get("op") == "time":
            trading.now_us = command["now"]
        if dumps(events) != events_text:
            if symbol is None:  # a clock tick touches every book
                trading.refused |= set(trading.instruments)
            else:
                trading.refused.add(symbol)


def _compare(trading: Trading) -> set[str]:
    """Books whose resting orders differ from the live order rows."""
    expected: dict[str, dict[str, int]] = {s: {} for s in trading.instruments}
    for order in trading.live.values():
        if order["type"] in STOP_TYPES and not order["triggered"]:
            continue  # waiting for its trigger: outside the book
        expected.setdefault(order["symbol"], {})[order["id"]] = order["open_qty"]
    bad = set()
    for symbol in trading.instruments:
        snapshot = trading.engine.snapshot(symbol)
        levels = snapshot["bids"] + snapshot["asks"]
        resting = {o["id"]: o["qty"] for level in levels for o in level["orders"]}
        if resting != expected[symbol]:
            bad.add(symbol)
    return bad
