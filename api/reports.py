"""Reports the CLI wrote (``flopex backtest --out DIR``, ``flopex stress --out DIR``), published read-only.

``flopex serve --reports ROOT`` (or ``FLOPEX_REPORTS_DIR``) names a directory whose subdirectories are
report directories: each holds a ``report.html`` and a ``metrics.json``, with the run's CSV and PNG
files beside them. Only those files are served -- names are checked against a strict pattern and
resolved inside the report's own directory, nothing above it or in a deeper folder is reachable --
and HTML is served sandboxed (no script runs, no request leaves), so a report cannot act on the
pages of this origin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
"""A report's directory name or one of its files: no separators, no leading dot."""
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".csv": "text/csv; charset=utf-8",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
}
SANDBOX = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"
"""The Content-Security-Policy of a served report file: an opaque origin that runs no script."""
MAX_REPORTS = 500


@dataclass(frozen=True)
class Report:
    """One report directory: its name, what wrote it, when it was last written and its files."""

    name: str
    kind: str
    modified: datetime
    files: tuple[str, ...]


def _kind(files: tuple[str, ...]) -> str:
    """``backtest`` (forecasts.csv), ``stress`` (series.csv) or ``report`` for another CLI output."""
    if "forecasts.csv" in files:
        return "backtest"
    if "series.csv" in files:
        return "stress"
    return "report"


def _report(directory: Path) -> Report | None:
    files = tuple(
        sorted(
            p.name
            for p in directory.iterdir()
            if p.is_file() and not p.is_symlink() and NAME.match(p.name) and p.suffix in MEDIA_TYPES
        )
    )
    if "report.html" not in files or "metrics.json" not in files:
        return None
    modified = max((directory / f).stat().st_mtime for f in files)
    return Report(directory.name, _kind(files), datetime.fromtimestamp(modified, UTC), files)


def list_reports(root: str) -> list[Report]:
    """The report directories directly under ``root``, newest first (none if ``root`` is unset or gone)."""
    base = Path(root) if root else None
    if base is None or not base.is_dir():
        return []
    found = [
        report
        for child in base.iterdir()
        if child.is_dir() and not child.is_symlink() and NAME.match(child.name)
        for report in [_report(child)]
        if report is not None
    ]
    return sorted(found, key=lambda r: (r.modified, r.name), reverse=True)[:MAX_REPORTS]


def report_file(root: str, name: str, file: str) -> tuple[Path, str] | None:
    """The path and media type of ``file`` in report ``name``, or None if there is no such file."""
    if not root or not NAME.match(name) or not NAME.match(file):
        return None
    report = next((r for r in list_reports(root) if r.name == name), None)
    if report is None or file not in report.files:
        return None
    path = Path(root) / name / file
    return path, MEDIA_TYPES[path.suffix]
