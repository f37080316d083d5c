"""The validation relations of docs/stress.md: amplification against leverage, the share of return
chasers and market-maker capital, over seeds with 95% confidence bands, and their figure.

``python -m market.lab.validation OUT_DIR [SEEDS] [--scheduler ADDRESS]`` runs the three sweeps of
:data:`RELATIONS` on :func:`base` (on Dask when a scheduler is given) and writes
``validation.png`` and ``validation.json``; ``tests/market/test_lab.py`` asserts the relations on a
few seeds and, under ``-m slow``, on more.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from market.lab import scenario, sweep

BASE_CHANGES: dict[str, Any] = {"shock": {"price_factor": 0.8}}
"""The validation's shock: ``generation-shock`` at -20% (H100), so that leverage grades the outcome
(at -40% every holder from 3x up is wiped out by the first variation payment)."""
RELATIONS: dict[str, tuple[Any, ...]] = {
    "population.leverage": (0.0, 2.0, 4.0, 8.0),
    "population.chaser_share": (0.0, 0.5, 1.0),
    "population.mm_capital_usd": (100_000, 400_000, 1_600_000),
}
"""The swept parameters and their values; the other parameters stay at the scenario's."""


def base() -> scenario.Scenario:
    """The scenario the relations are measured on."""
    return scenario.named("generation-shock").with_changes(BASE_CHANGES)


def relations(base: scenario.Scenario, seeds: Sequence[int], **run: Any) -> dict[str, list[dict[str, float]]]:
    """Per parameter, the summarized amplification (mean and 95% band) at each value."""
    out = {}
    for parameter, values in RELATIONS.items():
        rows = sweep.sweep(base, parameter, values, seeds, **run)
        out[parameter] = sweep.summarize(rows, ("amplification", "forced_lots", "drawdown"))
    return out


def figure(results: dict[str, list[dict[str, float]]]) -> Any:
    """Amplification against each parameter, with its 95% band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(12, 3.4))
    for ax, (parameter, rows) in zip(axes, results.items(), strict=True):
        xs = [float(r["label"].split("=")[1]) for r in rows]
        ax.plot(xs, [r["amplification"] for r in rows], marker="o")
        ax.fill_between(
            xs, [r["amplification_lo"] for r in rows], [r["amplification_hi"] for r in rows], alpha=0.25
        )
        ax.axhline(1.0, color="grey", lw=0.6)
        ax.set_xlabel(parameter.split(".")[1])
        if parameter.endswith("_usd"):
            ax.set_xscale("log")
    axes[0].set_ylabel("amplification factor")
    fig.tight_layout()
    return fig


def main(argv: Sequence[str]) -> None:
    """The command line described in the module docstring."""
    from pricing import htmlreport

    args = list(argv)
    scheduler = None
    if "--scheduler" in args:
        i = args.index("--scheduler")
        scheduler = args[i + 1]
        del args[i : i + 2]
    out = Path(args[0])
    seeds = range(1, 1 + (int(args[1]) if len(args) > 1 else 6))
    out.mkdir(parents=True, exist_ok=True)
    results = relations(base(), list(seeds), scheduler=scheduler)
    (out / "validation.json").write_text(json.dumps(results, indent=2) + "\n")
    htmlreport.save_png(figure(results), out / "validation.png")


if __name__ == "__main__":
    main(sys.argv[1:])
