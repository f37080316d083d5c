"""``GET /v1/reports``: the backtest and stress reports the CLI wrote into the server's reports
directory, and their files (no key needed; the directory is published read-only, see
:mod:`api.reports`)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter
from litestar.response import File

from api.context import Ctx, call
from api.errors import ApiError
from api.openapi import problems
from api.reports import SANDBOX, list_reports, report_file
from api.schemas.reports import ReportOut, ReportsOut

Name = Annotated[str, Parameter(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", max_length=128)]


class ReportController(Controller):
    """Read-only; empty when the server has no reports directory."""

    path = "/v1/reports"
    tags = ("reports",)

    @get("/", summary="List reports")
    async def reports(self, ctx: Ctx) -> ReportsOut:
        """Report directories under ``FLOPEX_REPORTS_DIR`` (``flopex serve --reports DIR``), newest
        first: each holds ``report.html``, ``metrics.json`` and the run's CSV and PNG files."""
        root = ctx.settings.reports_dir
        found = await call(list_reports, root)
        return ReportsOut(configured=bool(root), items=[ReportOut.of(r) for r in found])

    @get("/{name:str}/{file:str}", summary="A report's file", responses=problems(404))
    async def file(self, ctx: Ctx, name: Name, file: Name) -> File:
        """One file of a report, served as it was written (HTML sandboxed: it runs no script)."""
        found = await call(report_file, ctx.settings.reports_dir, name, file)
        if found is None:
            raise ApiError("not_found", f"no file {file!r} in a report {name!r}", field="file", status=404)
        path, media_type = found
        return File(
            path,
            media_type=media_type,
            content_disposition_type="inline",
            headers={"Content-Security-Policy": SANDBOX, "X-Content-Type-Options": "nosniff"},
        )
