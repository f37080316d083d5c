"""The HTML report of a live pool (``flopex securitize pool report``): what the deal's report
(:mod:`pricing.securitization.report`) shows for simulated paths, shown for the one path the pool
actually took -- cash owed, remitted and paid per period, note balances, triggers, payments to each
holder and the cash identity -- self-contained, like the backtest's and the deal's reports."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from api.schemas.pools import PaymentOut, PoolReportOut
from market.securitization.records import PoolReport
from pricing.htmlreport import figures, key_values, page, save_png, table

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

CAPTIONS = {
    "cash": "Per period: what the sponsor remitted (escrow released and index revenue) and what it "
    "owed but could not pay, against how the waterfall used the cash.",
    "balances": "Each note's balance at the end of every serviced period (face less principal paid; "
    "after the last period, less any write-down).",
}


def _usd(micros: int) -> float:
    return micros / 1e6


def _periods(report: PoolReport) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "period": p.period,
                "start": p.start.date().isoformat(),
                "escrow": _usd(p.escrow_micros),
                "usage GPU-h": p.usage_gpu_hours,
                "index": None if p.index_micros is None else _usd(p.index_micros),
                "index revenue": _usd(p.index_revenue_micros),
                "remitted": _usd(p.remitted_micros),
                "shortfall": _usd(p.shortfall_micros),
                "fees": _usd(p.fees_micros),
                "interest": _usd(p.interest_micros),
                "principal": _usd(p.principal_micros),
                "residual": _usd(p.residual_micros),
                "reserve": _usd(p.reserve_micros),
                "residue": _usd(p.residue_micros),
                "breaches": ", ".join(p.breaches) or "-",
            }
            for p in report.periods
        ]
    )


def _balances(report: PoolReport) -> pd.DataFrame:
    """Balance of each note after each serviced period, from the payments (USD)."""
    import pandas as pd

    rows = []
    for note in report.pool.notes:
        balance = note.lots * note.lot_face_micros
        for p in report.periods:
            balance -= sum(
                x.principal_micros for x in report.payments if (x.symbol, x.period) == (note.symbol, p.period)
            )
            last = p.period == report.pool.periods - 1
            rows.append({"period": p.period, "note": note.tranche, "balance": _usd(0 if last else balance)})
    return pd.DataFrame(rows, columns=["period", "note", "balance"])


def cash_figure(periods: pd.DataFrame) -> Figure:
    """Bars: cash in (remitted, shortfall) beside cash used (fees, interest, principal, residual)."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5), sharey=True)
    if len(periods):
        periods.set_index("period")[["remitted", "shortfall"]].plot.bar(ax=left, stacked=True, rot=0)
        periods.set_index("period")[["fees", "interest", "principal", "residual"]].plot.bar(
            ax=right, stacked=True, rot=0
        )
    left.set_title("owed: remitted and short")
    right.set_title("paid by the waterfall")
    left.set_ylabel("USD")
    fig.tight_layout()
    return fig


def balance_figure(balances: pd.DataFrame) -> Figure:
    """Lines: each note's balance after each period."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.5))
    if len(balances):
        balances.pivot(index="period", columns="note", values="balance").plot(ax=ax, marker="o")
    ax.set_xlabel("period")
    ax.set_ylabel("balance, USD")
    fig.tight_layout()
    return fig


def render(report: PoolReport, images: dict[str, str]) -> str:
    """The page; ``images`` maps figure names to base64-encoded PNGs."""
    import pandas as pd

    out = PoolReportOut.of(report)
    pool = out.pool
    summary = {
        "pool": f"{pool.code} ({pool.name}), id {pool.id}",
        "sponsor / issuing account": f"{pool.sponsor_id} / {pool.issuer_id}",
        "product, listings": f"{pool.product}, {', '.join(map(str, pool.listing_ids))}",
        "term": f"{pool.start.date()} to {pool.end.date()}: {pool.periods} x {pool.period_months} month(s)",
        "serviced": f"{pool.serviced} of {pool.periods} ({pool.status})",
        "waterfall": f"fees {pool.fees_fixed} + {pool.fees_rate}/y; reserve {pool.reserve_initial} -> "
        f"{pool.reserve_target}; {pool.principal}, {pool.amortisation}",
        "cash held / reserve (USD)": f"{pool.cash} / {pool.reserve}",
        "conservation": f"in {out.conservation.cash_in} = out {out.conservation.paid_out} + held "
        f"{out.conservation.held}: {'balanced' if out.conservation.balanced else 'NOT BALANCED'}",
    }
    notes = pd.DataFrame(msgspec.to_builtins(pool.notes))
    columns = [f.name for f in msgspec.structs.fields(PaymentOut)]
    payments = pd.DataFrame(msgspec.to_builtins(out.payments), columns=columns)
    triggers = ", ".join(f"period {t.period}: {t.tranche}" for t in out.triggers) or "none"
    body = [
        key_values(summary),
        "<h2>Notes</h2><p>Priced per 100 of the face of a lot now; balances and amounts in USD.</p>",
        table(notes),
        "<h2>Periods</h2><p>Each serviced period's cash through the pricing library's waterfall "
        "(docs/securitization.md, on the exchange).</p>",
        table(_periods(report)),
        f"<h2>Triggers</h2><p>{triggers}</p>",
        f"<h2>Figures</h2>{figures(images, CAPTIONS)}",
        "<h2>Payments</h2>",
        table(payments),
    ]
    return page(f"flopex pool {pool.code}", body)


def save_pool_report(report: PoolReport, out: str | Path) -> Path:
    """Write metrics.json (the report's data, as GET /v1/pools/{id}/report returns it), the figures'
    PNGs and a self-contained report.html into ``out`` (so `flopex serve --reports` publishes it)."""
    directory = Path(out)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "metrics.json").write_bytes(
        msgspec.json.format(msgspec.json.encode(PoolReportOut.of(report)))
    )
    made = {"cash": cash_figure(_periods(report)), "balances": balance_figure(_balances(report))}
    images = {name: save_png(figure, directory / f"{name}.png") for name, figure in made.items()}
    (directory / "report.html").write_text(render(report, images))
    return directory / "report.html"
