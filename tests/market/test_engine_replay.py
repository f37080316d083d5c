"""``flopex replay``: the events and state hash of a replayed log, snapshots, and clean errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import main
from market.engine import MatchingEngine
from tests.market.engine_checks import random_commands, run_commands

SYMBOLS = ["H100-2027-01", "B200-2027-W05"]


def write_log(path: Path, commands: list[dict]) -> Path:
    header = [
        {"op": "instrument", "symbol": SYMBOLS[0]},
        {"op": "instrument", "symbol": SYMBOLS[1], "band_bps": 500, "reference": 100},
    ]
    path.write_text("".join(json.dumps(c) + "\n" for c in [*header, *commands]) + "\n")
    return path


def direct(commands: list[dict]) -> MatchingEngine:
    engine = MatchingEngine()
    engine.add_instrument(SYMBOLS[0])
    engine.add_instrument(SYMBOLS[1], band_bps=500, reference=100)
    return engine


def test_replay_prints_every_event_then_the_state_hash(tmp_path: Path) -> None:
    commands = random_commands(11, 2_000, SYMBOLS)
    log = write_log(tmp_path / "day.jsonl", commands)
    result = CliRunner().invoke(main, ["replay", str(log)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    engine = direct(commands)
    assert lines[:-1] == run_commands(engine, commands)
    assert lines[-1] == {"state_hash": engine.state_hash()}
    again = CliRunner().invoke(main, ["replay", str(log)])
    assert again.output == result.output  # byte-identical


def test_replay_snapshot_prints_final_books(tmp_path: Path) -> None:
    commands = random_commands(12, 1_000, SYMBOLS)
    log = write_log(tmp_path / "day.jsonl", commands)
    result = CliRunner().invoke(main, ["replay", str(log), "--snapshot"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    engine = direct(commands)
    run_commands(engine, commands)
    assert lines == [
        {"symbol": SYMBOLS[0], **engine.snapshot(SYMBOLS[0])},
        {"symbol": SYMBOLS[1], **engine.snapshot(SYMBOLS[1])},
        {"state_hash": engine.state_hash()},
    ]


def test_symbol_option_opens_books(tmp_path: Path) -> None:
    log = tmp_path / "one.jsonl"
    log.write_text(json.dumps({"op": "new", "symbol": "X", "id": "a", "account": "u", "side": "buy",
                               "type": "limit", "price": 5, "qty": 1}) + "\n")  # fmt: skip
    result = CliRunner().invoke(main, ["replay", str(log), "--symbol", "X"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["type"] for line in result.output.splitlines()[:-1]] == ["accepted", "resting"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"op": "time", "now": 1}\n{"op": \n', "line 2: not valid JSON"),
        ("[1, 2]\n", "line 1: a command must be a JSON object"),
        ('{"op": "instrument", "symbol": "X", "band_bps": 0}\n', "line 1: band_bps must be"),
        ('{"op": "instrument", "symbol": "X"}\n{"op": "instrument", "symbol": "X"}\n', "line 2: instrument"),
        ('{"op": "instrument", "symbol": "X", "tick": 1}\n', "unknown instrument field 'tick'"),
    ],
)
def test_bad_logs_give_one_error_line(tmp_path: Path, content: str, message: str) -> None:
    log = tmp_path / "bad.jsonl"
    log.write_text(content)
    result = CliRunner().invoke(main, ["replay", str(log)])
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output
    assert message in errors[0]
    assert "Traceback" not in result.output


def test_missing_file_is_a_clean_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["replay", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 1
    assert result.output.startswith("error: cannot read ")
