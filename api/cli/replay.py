"""``flopex replay COMMANDS.jsonl``: run a command log through a fresh matching engine.

The audit and research tool: the engine is deterministic, so replaying a log reproduces every event
of the original run and ends on the same state hash.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

import click

if TYPE_CHECKING:
    from market.engine import MatchingEngine

_INSTRUMENT_KEYS = frozenset({"op", "symbol", "band_bps", "reference"})


def _lines(path: str) -> Iterator[tuple[int, str]]:
    """Numbered non-blank lines of ``path`` ("-" is stdin), with read errors as user errors."""
    from api.cli import UserError

    try:
        handle: IO[str] = click.open_file(path, "r", encoding="utf-8")
    except OSError as error:
        raise UserError(f"cannot read {path}: {error.strerror or error}") from None
    with handle:
        try:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield number, line
        except UnicodeDecodeError:
            raise UserError(f"{path}: not a UTF-8 text file") from None


@click.command("replay")
@click.argument("commands", metavar="COMMANDS.jsonl")
@click.option("--snapshot", is_flag=True, help="Print the final books instead of the events.")
@click.option(
    "--symbol",
    "symbols",
    multiple=True,
    metavar="SYMBOL",
    help="Open a book for SYMBOL before replaying (repeatable); the log may also declare instruments.",
)
def command(commands: str, snapshot: bool, symbols: tuple[str, ...]) -> None:
    """Replay the engine commands in COMMANDS.jsonl ("-" reads stdin), one JSON object per line.

    Prints every event as one JSON line, then {"state_hash": ...}. With --snapshot it prints each
    final book as one JSON line instead of the events. Books are opened with --symbol or by lines
    {"op": "instrument", "symbol": ..., "band_bps": ..., "reference": ...} in the log. The command
    and event formats are described in docs/matching.md.
    """
    from api.cli import UserError
    from market.engine import MatchingEngine

    engine = MatchingEngine()
    for symbol in symbols:
        _add_instrument(engine, {"symbol": symbol}, "--symbol")
    out = sys.stdout
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    for number, line in _lines(commands):
        where = f"{commands} line {number}"
        try:
            cmd = json.loads(line)
        except json.JSONDecodeError as error:
            raise UserError(f"{where}: not valid JSON ({error.msg})") from None
        if not isinstance(cmd, dict):
            raise UserError(f"{where}: a command must be a JSON object")
        if cmd.get("op") == "instrument":
            unknown = sorted(set(cmd) - _INSTRUMENT_KEYS)
            if unknown:
                raise UserError(f"{where}: unknown instrument field {unknown[0]!r}")
            _add_instrument(engine, cmd, where)
            continue
        events = engine.apply(cmd)
        if not snapshot and events:
            out.write("\n".join(map(dumps, events)) + "\n")
    if snapshot:
        for symbol in engine.symbols():
            out.write(dumps({"symbol": symbol, **engine.snapshot(symbol)}) + "\n")
    out.write(dumps({"state_hash": engine.state_hash()}) + "\n")


def _add_instrument(engine: MatchingEngine, spec: dict, where: str) -> None:
    """Open a book as a log line or ``--symbol`` asks, reporting bad settings as user errors."""
    from api.cli import UserError

    try:
        engine.add_instrument(
            spec.get("symbol"), band_bps=spec.get("band_bps"), reference=spec.get("reference")
        )
    except ValueError as error:
        raise UserError(f"{where}: {error}") from None
