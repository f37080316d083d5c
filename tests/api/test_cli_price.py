"""``flopex price``: JSON out, a human table with --pretty, field-path errors with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import main

REQUEST = {
    "model": {"type": "gbm", "spot": 100.0, "vol": 0.2, "carry": 0.0},
    "instrument": {"type": "european", "kind": "call", "strike": 100.0, "expiry": 1.0},
    "rate": 0.05,
}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_prints_the_result_as_json_from_stdin(runner: CliRunner) -> None:
    result = runner.invoke(main, ["price", "-"], input=json.dumps(REQUEST))
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["method"] == "analytic"
    assert body["value"] == pytest.approx(7.577082146427, abs=1e-9)  # Black-76, F = K = 100


def test_reads_a_file_and_prints_a_table(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "request.json"
    path.write_text(json.dumps({**REQUEST, "greeks": True}))
    result = runner.invoke(main, ["price", "--pretty", str(path)])
    assert result.exit_code == 0, result.output
    rows = dict(line.split(maxsplit=1) for line in result.stdout.splitlines())
    assert rows["method"] == "analytic"
    assert rows["value"] == "7.57708"
    assert rows["std_error"] == "-"
    assert float(rows["delta"]) == pytest.approx(0.5135, abs=1e-4)


def test_a_list_of_requests_gives_a_list_of_results(runner: CliRunner) -> None:
    result = runner.invoke(main, ["price", "-"], input=json.dumps([REQUEST]))  # one: no worker start-up
    assert result.exit_code == 0, result.output
    assert [r["method"] for r in json.loads(result.stdout)] == ["analytic"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            json.dumps({**REQUEST, "instrument": {**REQUEST["instrument"], "strike": -1e12}}),
            "error: instrument.strike: must be between",
        ),
        (
            json.dumps({**REQUEST, "model": {**REQUEST["model"], "vol": float("nan")}}),
            "error: model.vol: must be a finite number",
        ),
        ("{not json", "error: request: not valid JSON"),
    ],
)
def test_bad_request_exits_2_with_the_field(runner: CliRunner, text: str, message: str) -> None:
    result = runner.invoke(main, ["price", "-"], input=text)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(message)
    assert len(result.stderr.splitlines()) == 1


def test_a_request_that_cannot_be_valued_exits_2_without_a_traceback(runner: CliRunner) -> None:
    """A Sobol grid beyond its dimension used to end in a traceback."""
    request = {**REQUEST, "method": "mc", "mc": {"paths": 64, "steps_per_year": 30000}}
    result = runner.invoke(main, ["price", "-"], input=json.dumps(request))
    assert result.exit_code == 2
    assert result.stderr.startswith('error: mc.sampler: "sobol" supports at most')
    assert "Traceback" not in result.output + result.stderr


def test_the_table_shows_the_interval_and_the_greeks_errors(runner: CliRunner) -> None:
    request = {**REQUEST, "method": "mc", "greeks": True, "mc": {"paths": 4096}}
    result = runner.invoke(main, ["price", "--pretty", "-"], input=json.dumps(request))
    assert result.exit_code == 0, result.output
    rows = dict(line.split(maxsplit=1) for line in result.stdout.splitlines())
    low, high = (float(x) for x in rows["95%"].split(" .. "))
    assert low < float(rows["value"]) < high
    assert " +/- " in rows["delta"]
