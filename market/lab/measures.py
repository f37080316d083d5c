"""Measures of a run and its control: drawdown, amplification, liquidity, forced sales, the fund.

The market's price level is the value-weighted log index of the forwards' prices (mids, the last
trade when a side is empty), weighted by the notional of each leg in the basket at the start. The
**drawdown** is the largest move of that index against the shock's direction after the shock (for a
price-raising shock, the largest rise), as a fraction; the **amplification factor** is the run's
drawdown over the control's: how much the feedback loops (margining and basket flows) add to the
same shock in the same world.
"""

from __future__ import annotations

import math

import numpy as np

from market.lab.simulation import Run


def _filled(series: np.ndarray) -> np.ndarray:
    """The series with gaps carried forward (and leading gaps filled backwards)."""
    out = series.copy()
    valid = ~np.isnan(out)
    if not valid.any():
        return np.zeros_like(out)
    index = np.where(valid, np.arange(len(out)), 0)
    np.maximum.accumulate(index, out=index)
    out = out[index]
    out[: np.argmax(valid)] = out[np.argmax(valid)]
    return out


def level(run: Run, what: str = "index") -> np.ndarray:
    """The weighted log level of ``what`` (``index``: the hourly fixings from traded prices, what
    margins follow; ``price``: the mid; ``value``: the fundamental) per step, 0 at the last step
    before the shock."""
    weights = np.array([run.series[f"value:{s}"][0] for s in run.symbols])
    weights = weights / weights.sum()
    logs = np.array([np.log(_filled(run.series[f"{what}:{s}"])) for s in run.symbols])
    path = (weights[:, None] * logs).sum(axis=0)  # not BLAS: its sums vary with its thread count
    return path - path[run.shock_step]


def drawdown(run: Run, what: str = "index") -> float:
    """The largest move against the shock's direction after it, as a fraction of the pre-shock level."""
    worst = float(np.max(run.direction * level(run, what)[run.shock_step :]))
    return math.expm1(worst) if run.direction > 0 else -math.expm1(-worst)


def amplification(run: Run, control: Run) -> float:
    """The run's drawdown over the control's (1: the feedback loops add nothing)."""
    base = drawdown(control)
    return drawdown(run) / base if base > 0 else math.nan


def mispricing(run: Run) -> float:
    """The mean distance between the price level and the fundamental level after the shock (as a
    log fraction): what the market gets wrong, e.g. when a band or a halt stops it from moving."""
    gap = level(run) - level(run, "value")
    return float(np.mean(np.abs(gap[run.shock_step :])))


def summary(run: Run) -> dict[str, float]:
    """The headline numbers of one run (without its control)."""
    after = slice(run.shock_step, None)
    spreads = np.concatenate([run.series[f"spread_bps:{s}"][after] for s in run.symbols])
    depth = sum(_filled(run.series[f"depth:{s}"]) for s in run.symbols)
    premium = run.series["premium_bps"][after]
    margin = run.series["margin_required_usd"]
    out = {
        "drawdown": drawdown(run),
        "fundamental_move": drawdown(run, "value"),
        "mispricing": mispricing(run),
        "max_spread_bps": _nan_or(np.nanmax, spreads),
        "empty_book_share": float(np.mean(np.isnan(spreads))),
        "halted_share": float(np.mean(run.series["halted"][after])),
        "min_depth_lots": float(depth[after].min()),
        "pre_shock_depth_lots": float(depth[: run.shock_step + 1].mean()),
        "max_discount_bps": -_nan_or(np.nanmin, premium),
        "max_premium_bps": _nan_or(np.nanmax, premium),
        "peak_margin_usd": _nan_or(np.nanmax, margin),
        "commands": float(run.commands),
        "commands_per_s": run.commands / run.seconds if run.seconds else math.nan,
    }
    out.update(run.totals)
    return out


def metrics(run: Run, control: Run) -> dict[str, float]:
    """The headline numbers of a run against its control (amplification and both drawdowns)."""
    return {
        "amplification": amplification(run, control),
        "control_drawdown": drawdown(control),
        **summary(run),
    }


def _nan_or(reduce, values: np.ndarray) -> float:
    return float(reduce(values)) if np.isfinite(values).any() else math.nan
