"""Self-contained HTML reports (figures embedded as base64 PNGs): the pieces shared by the backtest
report and the securitization report, so both look and read alike."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}"
    "table.t,table.k{border-collapse:collapse;font-size:13px;margin:.5em 0 1.5em}"
    ".t td,.t th,.k td,.k th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}"
    ".k th{text-align:left}img{max-width:100%}figcaption{font-size:13px;color:#555}"
)


def table(frame: pd.DataFrame) -> str:
    """A data table, numbers to four significant digits, missing values as '-'."""
    return frame.to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0, classes="t", na_rep="-")


def key_values(rows: dict[str, object]) -> str:
    """A two-column table of settings or timings."""
    cells = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows.items()
    )
    return f"<table class='k'>{cells}</table>"


def figures(images: dict[str, str], captions: dict[str, str]) -> str:
    """Embedded figures with their captions; ``images`` maps names to base64-encoded PNGs."""
    return "".join(
        f'<figure><img alt="{name}" src="data:image/png;base64,{data}"><figcaption>{captions[name]}'
        "</figcaption></figure>"
        for name, data in images.items()
    )


def page(title: str, body: list[str]) -> str:
    """The whole document: ``title`` as heading, then the ``body`` fragments in order."""
    head = f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
    return "".join(
        [head, f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>", *body, "</body></html>"]
    )


def save_png(figure: Figure, path: Path) -> str:
    """Write ``figure`` to ``path`` as a PNG, close it, and return the PNG base64-encoded."""
    import matplotlib.pyplot as plt

    figure.savefig(path, dpi=110)
    plt.close(figure)
    return base64.b64encode(path.read_bytes()).decode("ascii")
