"""Reports the CLI wrote, as listed by ``GET /v1/reports``."""

from __future__ import annotations

from datetime import datetime

import msgspec

from api.reports import Report


class ReportOut(msgspec.Struct):
    """One report directory: ``kind`` is ``backtest``, ``stress`` or ``report``; ``files`` can be
    fetched from ``/v1/reports/{name}/{file}``."""

    name: str
    kind: str
    modified: datetime
    files: list[str]

    @classmethod
    def of(cls, report: Report) -> ReportOut:
        return cls(name=report.name, kind=report.kind, modified=report.modified, files=list(report.files))


class ReportsOut(msgspec.Struct):
    """The reports under the server's reports directory, newest first; ``configured`` is false when
    the server was started without one (``flopex serve --reports DIR``)."""

    configured: bool
    items: list[ReportOut]
