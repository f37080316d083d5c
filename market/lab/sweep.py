"""Many runs: sweeps over a parameter and seeds, and the mitigations side by side, on Dask or here.

A sweep is a list of :class:`Task` (a scenario, a seed, feedback on or off, a label); each task is
one independent run whose result depends only on its scenario and seed, so the tasks run in this
process or on a Dask cluster (:func:`pricing.distributed.compute_on`: a local cluster, or an existing
scheduler named by ``--scheduler`` / ``$FLOPEX_DASK_SCHEDULER``) with identical results. Each
feedback run is paired with the control of the same seed (feedback off, the same world) to give its
amplification factor; :func:`summarize` turns the per-seed rows into means with 95% confidence bands.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from market.lab import measures, simulation
from market.lab.scenario import Scenario
from pricing.distributed import compute_on, map_ordered


@dataclass(frozen=True)
class Task:
    """One run of a sweep."""

    scenario: Scenario
    seed: int
    feedback: bool
    label: str


def evaluate(task: Task) -> dict[str, float]:
    """The summary measures of one run (:func:`market.lab.measures.summary`)."""
    return measures.summary(simulation.run(task.scenario, task.seed, feedback=task.feedback))


def run_tasks(
    tasks: Sequence[Task],
    *,
    scheduler: str | None = None,
    client: Any = None,
    progress: Callable[[], None] | None = None,
) -> list[dict[str, float]]:
    """Every task's summary, in task order: on Dask when a scheduler or client is given (or
    ``$FLOPEX_DASK_SCHEDULER`` is set), else here one after another (``progress`` is called after
    each task here; on Dask the cluster's progress bar shows on a terminal)."""
    with compute_on(scheduler, client) as cluster:
        if cluster is not None:
            return map_ordered(cluster, evaluate, list(tasks), label="stress runs")
        out = []
        for task in tasks:
            out.append(evaluate(task))
            if progress is not None:
                progress()
        return out


def paired(
    tasks: Sequence[Task], results: Sequence[dict[str, float]], controls: dict[int, float]
) -> list[dict]:
    """Rows of the feedback runs with their amplification over ``controls`` (control drawdowns by seed)."""
    rows = []
    for task, result in zip(tasks, results, strict=True):
        if task.feedback:
            base = controls[task.seed]
            amplification = result["drawdown"] / base if base > 0 else math.nan
            rows.append({"label": task.label, "seed": task.seed, "amplification": amplification, **result})
    return rows


def sweep(
    scenario: Scenario,
    parameter: str,
    values: Sequence[Any],
    seeds: Sequence[int],
    **run: Any,
) -> list[dict]:
    """Runs of ``scenario`` with ``parameter`` (a dotted path, e.g. ``population.leverage``) set to
    each of ``values``, over ``seeds``; each against its own control (the same parameters, feedback
    off). Returns one row per value and seed."""
    tasks = []
    for value in values:
        changed = scenario.with_changes(_nested(parameter, value))
        label = f"{parameter}={value}"
        for seed in seeds:
            tasks += [Task(changed, seed, True, label), Task(changed, seed, False, label)]
    results = run_tasks(tasks, **run)
    rows = []
    for i in range(0, len(tasks), 2):
        control = results[i + 1]["drawdown"]
        rows += paired(tasks[i : i + 1], results[i : i + 1], {tasks[i].seed: control})
    return rows


MITIGATIONS: dict[str, dict[str, Any]] = {
    "exchange rules": {},
    "price band 5%": {"band_bps": 500},
    "circuit breaker 8%/h": {"breaker_move": 0.08},
    "no anti-procyclicality": {"apc_weight": 0.0},
    "margin vol floor 1.0": {"margin_floor_vol": 1.0},
    "liquidation slice 10%": {"slice": 0.10},
    "liquidation in one go": {"slice": 1.0},
    "redemption gate 5%/day": {"redemption_gate": 0.05},
    "in-kind redemption only": {"in_kind_only": True},
    "default fund x2": {"fund_multiple": 2.0},
}
"""The variants compared: the exchange's own rules first, then one change each."""


def compare_mitigations(
    scenario: Scenario, seeds: Sequence[int], names: Sequence[str] | None = None, **run: Any
) -> list[dict]:
    """Every mitigation on the same seeds; amplification against the control of the exchange's own
    rules (so a rule that damps the fall shows a smaller factor)."""
    chosen = list(names or MITIGATIONS)
    tasks = [Task(scenario, seed, False, "control") for seed in seeds]
    for name in chosen:
        variant = dataclasses.replace(
            scenario, mitigations=dataclasses.replace(scenario.mitigations, **MITIGATIONS[name])
        )
        tasks += [Task(variant, seed, True, name) for seed in seeds]
    results = run_tasks(tasks, **run)
    controls = {seed: results[i]["drawdown"] for i, seed in enumerate(seeds)}
    return paired(tasks, results, controls)


def summarize(rows: Sequence[dict], keys: Sequence[str]) -> list[dict]:
    """Per label (in first-seen order): the number of seeds and, per key, the mean and a 95%
    confidence band (mean +- 1.96 standard errors)."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups[row["label"]].append(row)
    out = []
    for label, members in groups.items():
        entry: dict[str, Any] = {"label": label, "seeds": len(members)}
        for key in keys:
            values = np.array([m[key] for m in members], dtype=float)
            mean = float(np.nanmean(values)) if np.isfinite(values).any() else math.nan
            half = (
                1.96 * float(np.nanstd(values, ddof=1)) / math.sqrt(len(values)) if len(values) > 1 else 0.0
            )
            entry[key] = mean
            entry[f"{key}_lo"] = mean - half
            entry[f"{key}_hi"] = mean + half
        out.append(entry)
    return out


def _nested(path: str, value: Any) -> dict[str, Any]:
    out: Any = value
    for part in reversed(path.split(".")):
        out = {part: out}
    return out
