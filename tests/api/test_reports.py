"""Publishing the CLI's report directories (api/reports.py): only report files are reachable."""

from __future__ import annotations

import os
from pathlib import Path

from api.reports import list_reports, report_file


def _report(root: Path, name: str, *extra: str, mtime: float = 1_800_000_000) -> Path:
    directory = root / name
    directory.mkdir()
    for file in ("report.html", "metrics.json", *extra):
        (directory / file).write_text("{}" if file.endswith(".json") else "x")
        os.utime(directory / file, (mtime, mtime))
    return directory


def test_reports_are_listed_newest_first_with_their_kind(tmp_path: Path) -> None:
    _report(tmp_path, "bt-h100", "forecasts.csv", "coverage.png", mtime=1_800_000_000)
    _report(tmp_path, "spiral", "series.csv", mtime=1_800_000_100)
    (tmp_path / "half").mkdir()  # no report.html: not a report
    (tmp_path / "half" / "metrics.json").write_text("{}")
    (tmp_path / "loose.html").write_text("x")
    found = list_reports(str(tmp_path))
    assert [(r.name, r.kind) for r in found] == [("spiral", "stress"), ("bt-h100", "backtest")]
    assert found[1].files == ("coverage.png", "forecasts.csv", "metrics.json", "report.html")
    assert list_reports("") == []
    assert list_reports(str(tmp_path / "gone")) == []


def test_only_a_reports_own_listed_files_are_served(tmp_path: Path) -> None:
    root = tmp_path / "reports"
    root.mkdir()
    directory = _report(root, "bt", "forecasts.csv")
    (directory / "notes.py").write_text("x")  # not a report file type
    (directory / ".hidden.json").write_text("{}")
    (tmp_path / "secret.json").write_text("{}")
    (directory / "link.json").symlink_to(tmp_path / "secret.json")
    (root / "outside").symlink_to(tmp_path, target_is_directory=True)
    assert report_file(str(root), "bt", "forecasts.csv") == (
        directory / "forecasts.csv",
        "text/csv; charset=utf-8",
    )
    for name, file in [
        ("bt", "../../secret.json"),
        ("bt", "notes.py"),
        ("bt", ".hidden.json"),
        ("bt", "link.json"),
        ("..", "secret.json"),
        ("outside", "secret.json"),
        ("bt", "missing.csv"),
    ]:
        assert report_file(str(root), name, file) is None, (name, file)
    assert report_file("", "bt", "report.html") is None
