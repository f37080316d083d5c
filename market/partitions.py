"""Books split into partitions, each with its own engine, event sequence, clock and command log.

A single writer (``flopex serve`` on SQLite, or on PostgreSQL without ``--products``) holds every book
in one partition, :data:`ALL`: one :class:`~market.engine.MatchingEngine`, one ``seq`` counting every
book's events, one clock tick expiring orders in every book, exactly as the exchange always worked.
A shard (``flopex serve --products H100,H200``) owns the books of some products; each such product
is a partition of its own (listed in ``book_partitions`` once a shard first claims it), with its own
engine, so its ``seq``, its time ticks and its commands (``commands.partition``) depend on nothing
another process does. Replaying one partition's commands alone reproduces its books; a process
owning several partitions replays them interleaved in log order, which changes nothing for any of
them.

:class:`PartitionedEngine` offers the engine's interface (``add_instrument``, ``apply``,
``snapshot``, ``symbols``, ``state_hash``) over those engines, routing a command by the partition of
its book (a ``time`` command names its partition; without one it is the :data:`ALL` partition's).
"""

from __future__ import annotations

import hashlib

from market.engine import MatchingEngine

ALL = "*"
"""The partition of every book not split off by product: the single writer's one log."""


class PartitionedEngine:
    """One :class:`MatchingEngine` per partition, routed by the books' partitions.

    A book split off from :data:`ALL` keeps a frozen copy in the :data:`ALL` engine when that engine
    replays commands it logged before the split; commands from then on reach the book's own
    partition.
    """

    def __init__(self, holds_all: bool = True) -> None:
        """``holds_all``: whether this engine holds the :data:`ALL` partition (the single writer's)."""
        self._engines: dict[str, MatchingEngine] = {ALL: MatchingEngine()} if holds_all else {}
        self._partition: dict[str, str] = {}  # symbol -> the partition its commands go to now

    def add_instrument(self, symbol: str, partition: str = ALL) -> None:
        """Open an empty book for ``symbol`` in ``partition`` (and in :data:`ALL` too when it is split
        off and this engine holds :data:`ALL`, for the commands logged there before the split)."""
        if partition != ALL:
            self._engine(partition).add_instrument(symbol)
        if ALL in self._engines:
            self._engines[ALL].add_instrument(symbol)
        self._partition[symbol] = partition

    def partition_of(self, command: dict) -> str:
        """The partition a live command goes to: its book's, or a ``time`` command's own."""
        if command.get("op") == "time":
            return command.get("partition", ALL)
        symbol = command.get("symbol")
        return self._partition.get(symbol, ALL) if type(symbol) is str else ALL

    def apply(self, command: dict, partition: str | None = None) -> list[dict]:
        """Apply one command in ``partition`` (default: :meth:`partition_of`) and return its events."""
        part = self.partition_of(command) if partition is None else partition
        if command.get("op") == "time" and "partition" in command:
            command = {k: v for k, v in command.items() if k != "partition"}
        return self._engine(part).apply(command)

    def snapshot(self, symbol: str, levels: int | None = None) -> dict:
        """The book of ``symbol`` as its partition's engine holds it (``seq``: that partition's)."""
        return self._engines[self._partition[symbol]].snapshot(symbol, levels)

    def symbols(self) -> list[str]:
        """Every book, in the order they were added."""
        return list(self._partition)

    def partitions(self) -> list[str]:
        """The partitions held, in the order they were opened."""
        return list(self._engines)

    def state_hash(self) -> str:
        """The single engine's hash when there is one partition; else a hash of every partition's."""
        if list(self._engines) == [ALL]:
            return self._engines[ALL].state_hash()
        parts = ",".join(f"{p}:{e.state_hash()}" for p, e in sorted(self._engines.items()))
        return hashlib.sha256(parts.encode()).hexdigest()

    def _engine(self, partition: str) -> MatchingEngine:
        engine = self._engines.get(partition)
        if engine is None:
            engine = self._engines[partition] = MatchingEngine()
        return engine
