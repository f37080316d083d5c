"""Smoke tests of the ``flopex`` command line: help everywhere, versions, db commands, clean errors."""

from __future__ import annotations

import http.client
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from api.cli import main
from migrations import commands as migrate

FLOPEX = Path(sys.executable).parent / "flopex"  # the console script users run


def _all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, cmd in group.commands.items():
        path = (*prefix, name)
        found.append(path)
        if isinstance(cmd, click.Group):
            found.extend(_all_commands(cmd, path))
    return found


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in ("db", "serve"):
        assert name in result.output


@pytest.mark.parametrize("path", _all_commands(main), ids=" ".join)
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("flopex, version ")


def test_db_upgrade_creates_sqlite_database_and_current_reports_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    upgraded = runner.invoke(main, ["db", "upgrade", "--db", url])
    assert upgraded.exit_code == 0, upgraded.output
    assert (tmp_path / "cli.db").exists()
    current = runner.invoke(main, ["db", "current", "--db", url])
    assert current.exit_code == 0
    assert "up to date" in current.output
    assert migrate.current(url) == migrate.head()


def test_db_url_comes_from_environment(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'env.db'}"
    result = CliRunner().invoke(main, ["db", "upgrade"], env={"FLOPEX_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "env.db").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["db", "upgrade", "--db", "not a url"], "error: invalid database URL"),
        (["db", "current", "--db", "postgresql+psycopg://nobody@127.0.0.1:1/none"], "error: cannot reach"),
        (["db", "downgrade", "--db", "sqlite://", "--yes", "no-such-revision"], "error: "),
    ],
)
def test_user_mistakes_print_one_line_and_fail(args: list[str], message: str) -> None:
    result = subprocess.run([str(FLOPEX), *args], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_bad_environment_setting_is_a_clean_error() -> None:
    result = CliRunner().invoke(main, ["db", "current"], env={"FLOPEX_PORT": "x"})
    assert result.exit_code == 1
    assert "error: FLOPEX_PORT must be an integer" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["admin", "create-account", "--name", "ops", "--role", "admin"],
        ["admin", "list-keys"],
        ["admin", "check"],
        ["lifecycle", "run"],
        ["lifecycle", "status"],
    ],
    ids=" ".join,
)
def test_commands_on_a_database_without_tables_say_to_upgrade(args: list[str], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'blank.db'}"
    result = CliRunner().invoke(main, [*args, "--db", url])
    assert result.exit_code == 1
    assert "run `flopex db upgrade`" in result.output
    assert "no such table" not in result.output


def test_downgrade_asks_first(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'keep.db'}"
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade", "--db", url]).exit_code == 0
    declined = runner.invoke(main, ["db", "downgrade", "--db", url, "base"], input="n\n")
    assert declined.exit_code == 1
    assert "Aborted" in declined.output
    assert migrate.current(url) == migrate.head()  # nothing was dropped
    agreed = runner.invoke(main, ["db", "downgrade", "--db", url, "base"], input="y\n")
    assert agreed.exit_code == 0, agreed.output
    assert migrate.current(url) is None


def test_serve_says_where_it_serves_on_stdout(tmp_path: Path) -> None:
    """What a user reads (the address, the web interface, the docs) goes to stdout with the demo's
    keys; stderr is left to the server's logs."""
    from tests.api.live_server import serving

    with serving(f"sqlite:///{tmp_path / 'serve.db'}") as (client, process):
        port = client.base_url.port
    out, err = process.stdout.read(), process.stderr.read()
    banner = f"flopex on http://127.0.0.1:{port} (web interface: http://127.0.0.1:{port}/, API docs:"
    assert banner in out
    assert "flopex on" not in err


def test_serve_keeps_an_idle_connection_longer_than_clients_do(tmp_path: Path) -> None:
    """A keep-alive connection idle for longer than httpx keeps one (5 s) still serves the next
    request: the client closes first, so no request meets a connection the server just closed."""
    from tests.api.live_server import serving

    with serving(f"sqlite:///{tmp_path / 'serve.db'}") as (client, _):
        assert client.get("/health").status_code == 200
        connection = http.client.HTTPConnection(client.base_url.host, client.base_url.port, timeout=10)
        try:
            for pause in (0.0, 5.5):  # the second request reuses the connection after the pause
                time.sleep(pause)
                connection.request("GET", "/health")
                response = connection.getresponse()  # RemoteDisconnected had the server closed it
                assert (response.status, response.read()[:15]) == (200, b'{"status":"ok",')
        finally:
            connection.close()


def test_serve_refuses_shards_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'flopex.db'}"
    result = CliRunner().invoke(main, ["serve", "--db", url, "--products", "H100"])
    assert result.exit_code != 0
    assert "--products needs a PostgreSQL database" in result.output
