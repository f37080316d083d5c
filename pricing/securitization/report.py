"""The securitization report: analysis.json, one PNG per figure and a self-contained report.html.

The figures (matplotlib, Agg backend) show each note's loss distribution, the pool's cash and
index over time, the expected note balances, and expected losses by scenario.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import msgspec
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from pricing.htmlreport import figures, key_values, page, save_png, table
from pricing.securitization.analytics import DealAnalysis, Valuation, analyse
from pricing.securitization.deal import Deal

CAPTIONS = {
    "losses": "Distribution of each note's loss (share of face unpaid at the end) over the paths. The "
    "title gives the probability of any loss; the bars show how large losses are when they happen.",
    "pool": "The pool's net cash per period, the index price (generation shocks included), the "
    "utilisation and the share of GPUs in default: median, 50% and 90% bands over the paths.",
    "balances": "Expected balance of each note over the deal's life (principal outstanding after each "
    "period), with the 5% and 95% quantiles.",
    "scenarios": "Expected loss of each note by scenario: the stresses of the deal's ``scenarios``.",
}


def loss_figure(valuation: Valuation) -> Figure:
    """Histogram of each note's loss share, conditional on a loss, with P(loss) in the title."""
    notes = valuation.deal.spec.tranches
    fig, axes = plt.subplots(1, len(notes), figsize=(4.0 * len(notes), 3.2), squeeze=False)
    for j, (note, ax) in enumerate(zip(notes, axes[0], strict=True)):
        loss = valuation.flows.writedown[j] / note.face
        hit = loss[loss > 1e-9]
        if hit.size:
            ax.hist(hit, bins=40, range=(0.0, 1.0), color=f"C{j}", weights=np.full(hit.size, 1.0 / loss.size))
        ax.set_title(f"{note.name}: P(loss) {hit.size / loss.size:.2%}, EL {loss.mean():.2%}", fontsize=9)
        ax.set_xlabel("loss, share of face")
        ax.set_xlim(0.0, 1.0)
    axes[0][0].set_ylabel("share of paths")
    fig.tight_layout()
    return fig


def _fan(ax: plt.Axes, times: np.ndarray, values: np.ndarray, color: str) -> None:
    q = np.quantile(values, [0.05, 0.25, 0.5, 0.75, 0.95], axis=1)
    ax.fill_between(times, q[0], q[4], color=color, alpha=0.2, label="90%")
    ax.fill_between(times, q[1], q[3], color=color, alpha=0.35, label="50%")
    ax.plot(times, q[2], color=color, lw=1.2, label="median")


def pool_figure(valuation: Valuation) -> Figure:
    """Fans of the pool's cash, the index, the utilisation and the share of GPUs in default."""
    pool = valuation.pool
    periods = np.arange(1, valuation.deal.spec.periods + 1)
    fig, axes = plt.subplots(2, 2, figsize=(11, 6.5), sharex=True)
    panels = [
        (pool.cash, "pool net cash per period (USD)"),
        (pool.index, "index, USD per GPU-hour"),
        (pool.utilisation, "utilisation of unsold GPUs"),
        (pool.defaulted, "share of GPUs whose provider defaulted"),
    ]
    for i, (ax, (values, title)) in enumerate(zip(axes.ravel(), panels, strict=True)):
        _fan(ax, periods, values, f"C{i}")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7)
    axes[0][0].axhline(0.0, color="k", lw=0.6)
    for ax in axes[1]:
        ax.set_xlabel("period")
    fig.tight_layout()
    return fig


def balance_figure(valuation: Valuation) -> Figure:
    """Each note's balance after each period: mean and 5%-95% band."""
    spec = valuation.deal.spec
    periods = np.arange(0, spec.periods + 1)
    fig, ax = plt.subplots(figsize=(8, 3.5))
    for j, note in enumerate(spec.tranches):
        paid = np.cumsum(valuation.flows.principal[j], axis=0)
        balance = np.vstack([np.full(paid.shape[1], note.face), note.face - paid])
        low, high = np.quantile(balance, [0.05, 0.95], axis=1)
        ax.fill_between(periods, low, high, color=f"C{j}", alpha=0.2)
        ax.plot(periods, balance.mean(axis=1), color=f"C{j}", label=note.name)
    ax.set_xlabel("period")
    ax.set_ylabel("balance, USD")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def scenario_figure(analysis: DealAnalysis) -> Figure:
    """Grouped bars: expected loss per note and scenario."""
    frame = pd.DataFrame(msgspec.to_builtins(analysis.scenarios))
    pivot = frame.pivot(index="tranche", columns="scenario", values="expected_loss")
    order = list(dict.fromkeys(frame["scenario"]))
    fig, ax = plt.subplots(figsize=(8, 3.5))
    pivot[order].plot.bar(ax=ax, rot=0)
    ax.set_ylabel("expected loss, share of face")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def render(deal: Deal, analysis: DealAnalysis, images: dict[str, str]) -> str:
    """The report page; ``images`` maps figure names to base64-encoded PNGs."""
    spec = deal.spec
    notes = pd.DataFrame(msgspec.to_builtins(analysis.tranches))
    sensitivities = pd.DataFrame(analysis.sensitivities).T.reset_index(names="tranche")
    scenarios = pd.DataFrame(msgspec.to_builtins(analysis.scenarios))
    summary = {
        "periods": f"{spec.periods} x {spec.period_months} month(s)",
        "index": "fixed path" if deal.model is None else spec.index.model,
        "providers": len(spec.providers),
        "assets": len(spec.assets),
        "principal": f"{spec.principal}, {spec.amortisation} amortisation",
        "Monte Carlo": f"{spec.mc.paths} paths, seed {spec.mc.seed}, "
        f"{spec.mc.fixings_per_period} fixings per period",
        "expected pool cash (USD)": f"{analysis.pool_cash:,.0f}",
        "equity, present value (USD)": f"{analysis.equity:,.0f}",
        "largest conservation error (USD)": f"{analysis.max_conservation_error:.3g}",
        "time": f"{analysis.elapsed_ms / 1000:.2f} s",
    }
    body = [
        f"<p>{spec.name}</p><h2>Notes</h2>",
        "<p>Prices per 100 of face at the deal's discount curve and spread; yield and spread at the "
        "quoted price when given (price_basis), else at the model price. Expected loss and "
        "probability of loss are of principal unpaid at the end; WAL and duration in years.</p>",
        table(notes),
        "<h2>Sensitivities</h2><p>Change in price per 100 for: index level +1%, index volatility "
        "+10% (relative), mean utilisation +1 point, default intensity +0.01 per year (common random "
        "numbers).</p>",
        table(sensitivities),
        "<h2>Scenarios</h2>",
        table(scenarios),
        f"<h2>Figures</h2>{figures(images, CAPTIONS)}",
        f"<h2>Deal</h2>{key_values(summary)}",
    ]
    return page("flopex securitization", body)


def save_report(deal: Deal, out: str | Path) -> tuple[Path, DealAnalysis]:
    """Analyse ``deal`` and write analysis.json, the PNGs and report.html into ``out``."""
    analysis, valuation = analyse(deal)
    directory = Path(out)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "analysis.json").write_bytes(msgspec.json.format(msgspec.json.encode(analysis)))
    made = {
        "losses": loss_figure(valuation),
        "pool": pool_figure(valuation),
        "balances": balance_figure(valuation),
        "scenarios": scenario_figure(analysis),
    }
    images = {name: save_png(figure, directory / f"{name}.png") for name, figure in made.items()}
    (directory / "report.html").write_text(render(deal, analysis, images))
    return directory, analysis
