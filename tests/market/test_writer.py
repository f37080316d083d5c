"""One writer per SQLite database: a second server (or lifecycle run) on the same file is refused with
one line naming the process that holds it; a holder that dies frees the file at once."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import main
from market.errors import BookUnavailableError
from market.writer import WriterLock, lock_path
from migrations import commands as migrate

HOLD = """
import sys, time
from datetime import UTC, datetime
from market.writer import WriterLock
lock = WriterLock(sys.argv[1], "flopex serve", datetime(2027, 1, 1, tzinfo=UTC))
lock.acquire()
print("held", flush=True)
time.sleep(120)
"""


def test_a_second_writer_is_refused_naming_the_holder(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'market.db'}"
    migrate.upgrade(url)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, url], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(BookUnavailableError) as refused:
            WriterLock(url, "test", datetime(2027, 1, 2, tzinfo=UTC)).acquire()
        assert f"is already served by pid {holder.pid} (flopex serve on " in refused.value.message
        assert "since 2027-01-01T00:00:00Z" in refused.value.message
        for args in (["serve", "--db", url, "--port", "8765"], ["lifecycle", "run", "--db", url]):
            result = CliRunner().invoke(main, args)
            assert result.exit_code == 1, result.output
            (line,) = result.output.strip().splitlines()
            assert line.startswith("error: ")
            assert f"already served by pid {holder.pid}" in line
    finally:
        holder.kill()
        holder.wait()
    with WriterLock(url, "test", datetime(2027, 1, 2, tzinfo=UTC)):  # the dead holder freed it
        assert "pid" in lock_path(url).read_text()
    assert lock_path(url).read_text() == ""


def test_postgres_and_memory_databases_need_no_lock_file() -> None:
    assert lock_path("postgresql+psycopg://u@h/db") is None
    assert lock_path("sqlite://") is None
    assert lock_path("sqlite:////tmp/x/flopex.db") == Path("/tmp/x/flopex.db.lock")
