"""A buyer's compute-usage forecast: GPU-hours per hour or per day per product, with its uncertainty.

The forecast is given in one of three forms, the same for every row:

- **point**: one number per (product, period), the usage for sure;
- **quantiles**: usage at a fixed set of probability levels, e.g. ``{"0.1": 1400, "0.5": 1536,
  "0.9": 1900}``; the planner draws one uniform U per product and scenario and reads every period's
  usage at level U (linear between the levels, held flat beyond the outermost ones), so a scenario in
  which the launch slips is high in every period, not high one hour and low the next;
- **scenarios**: k joint scenarios (every row lists k numbers; scenario j of every row belongs
  together); the planner draws scenario indices uniformly.

Usage is independent of the GPU price in the planner (the buyer's workload does not move the
market). A period with no row for a product uses nothing of it. Day rows spread their GPU-hours evenly
over the day's 24 hours, since forwards deliver whole GPUs every hour.

Formats: JSON ``{"resolution": "hour"|"day", "usage": [{"product", "start", "usage" | "quantiles" |
"scenarios"}, ...]}`` and CSV with a ``product,start`` header followed by ``usage`` (point), by
``q10,q50,q90``-style columns (quantiles at 10 %, 50 %, 90 %), or by ``scenario,usage`` (one line per
scenario and period).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from pricing.hedging.errors import Fields, HedgeInputError, number, on_hour

Resolution = Literal["hour", "day"]
Form = Literal["point", "quantiles", "scenarios"]
PERIOD_HOURS: dict[str, int] = {"hour": 1, "day": 24}
MAX_ROWS = 200_000
"""Most rows in one forecast: four products hourly for over five years."""
MAX_USAGE = 1e9
"""Largest GPU-hours in one period (about 40 million GPUs for a day)."""
MAX_SCENARIOS = 10_000
_QUANTILE_COLUMN = re.compile(r"^[qp](\d{1,2}(?:\.\d+)?)$")


@dataclass(frozen=True)
class UsageRow:
    """One product's usage in one period [start, start + period): one value per level or scenario."""

    product: str
    start: datetime
    values: tuple[float, ...]


@dataclass(frozen=True)
class UsageForecast:
    """A validated usage forecast (see the module docstring)."""

    resolution: Resolution
    form: Form
    levels: tuple[float, ...]
    """Quantile levels, strictly increasing in (0, 1); empty for the other forms."""
    rows: tuple[UsageRow, ...]

    @property
    def period(self) -> timedelta:
        return timedelta(hours=PERIOD_HOURS[self.resolution])

    @cached_property
    def products(self) -> tuple[str, ...]:
        return tuple(sorted({row.product for row in self.rows}))

    @cached_property
    def start(self) -> datetime:
        return min(row.start for row in self.rows)

    @cached_property
    def end(self) -> datetime:
        return max(row.start for row in self.rows) + self.period

    def to_json(self) -> dict:
        """The JSON form (:func:`parse_forecast` reads it back): what ``POST /v1/hedges`` takes."""

        def row(item: UsageRow) -> dict:
            start = item.start.isoformat().replace("+00:00", "Z")
            if self.form == "point":
                return {"product": item.product, "start": start, "usage": item.values[0]}
            if self.form == "scenarios":
                return {"product": item.product, "start": start, "scenarios": list(item.values)}
            quantiles = {repr(level): value for level, value in zip(self.levels, item.values, strict=True)}
            return {"product": item.product, "start": start, "quantiles": quantiles}

        return {"resolution": self.resolution, "usage": [row(item) for item in self.rows]}

    def check_after(self, valuation: datetime) -> None:
        """Refuse periods that start before ``valuation`` (their prices are already history)."""
        for i, row in enumerate(self.rows):
            if row.start < valuation:
                raise HedgeInputError(
                    f"forecast[{i}].start",
                    f"{row.start.isoformat()} is before the valuation time {valuation.isoformat()}: "
                    "forecast only periods still to come",
                )

    def mean_hourly(self, hours: list[datetime]) -> dict[str, NDArray[np.float64]]:
        """Expected GPUs used in each hour of ``hours`` per product (exact for each form: the mean of
        the scenarios, or the integral of the piecewise-linear quantile function)."""
        index = {moment: i for i, moment in enumerate(hours)}
        per = PERIOD_HOURS[self.resolution]
        out = {product: np.zeros(len(hours)) for product in self.products}
        for row in self.rows:
            first = index[row.start]
            out[row.product][first : first + per] = self._mean(row.values) / per
        return out

    def _mean(self, values: tuple[float, ...]) -> float:
        if self.form != "quantiles":
            return float(np.mean(values))
        levels = self.levels
        total = levels[0] * values[0] + (1.0 - levels[-1]) * values[-1]
        for i in range(len(levels) - 1):
            total += (levels[i + 1] - levels[i]) * (values[i] + values[i + 1]) / 2.0
        return total

    def hourly(
        self, hours: list[datetime], n: int, rng: np.random.Generator
    ) -> dict[str, NDArray[np.float64]]:
        """GPUs used in each hour of ``hours`` (a contiguous hourly grid covering the forecast) per
        product, one column per scenario: ``{product: array (len(hours), n)}``."""
        index = {moment: i for i, moment in enumerate(hours)}
        per = PERIOD_HOURS[self.resolution]
        width = len(self.levels) if self.form == "quantiles" else len(self.rows[0].values)
        picks = rng.integers(width, size=n) if self.form == "scenarios" else None
        out: dict[str, NDArray[np.float64]] = {}
        for product in self.products:
            table = np.zeros((len(hours), width))
            for row in self.rows:
                if row.product == product:
                    first = index[row.start]
                    table[first : first + per] = np.asarray(row.values) / per
            if self.form == "point":
                out[product] = np.repeat(table, n, axis=1)
            elif self.form == "scenarios":
                out[product] = table[:, picks]
            else:
                out[product] = _at_levels(table, self.levels, rng.uniform(size=n))
        return out


def _at_levels(table: NDArray[np.float64], levels: tuple[float, ...], u: NDArray[np.float64]) -> NDArray:
    """Each column of ``table`` (quantiles at ``levels``) read at probability ``u`` per scenario."""
    grid = np.asarray(levels)
    if grid.size == 1:
        return np.repeat(table, u.size, axis=1)
    clipped = np.clip(u, grid[0], grid[-1])
    upper = np.clip(np.searchsorted(grid, clipped, side="right"), 1, grid.size - 1)
    weight = (clipped - grid[upper - 1]) / (grid[upper] - grid[upper - 1])
    return table[:, upper - 1] * (1.0 - weight) + table[:, upper] * weight


# --- reading ---------------------------------------------------------------------------------------


def parse_forecast(data: object, path: str = "forecast") -> UsageForecast:
    """Validate the JSON form ``{"resolution", "usage": [...]}`` into a forecast."""
    f = Fields(data, path)
    resolution = f.raw("resolution", "hour")
    if resolution not in PERIOD_HOURS:
        raise HedgeInputError(f.at("resolution"), f'must be "hour" or "day", got {resolution!r}')
    items = f.raw("usage")
    f.done()
    if not isinstance(items, list) or not items:
        raise HedgeInputError(f.at("usage"), "must be a non-empty list of rows")
    return _build(resolution, [(item, f"{path}[{i}]") for i, item in enumerate(items)])


def read_forecast(source: str | Path, resolution: Resolution | None = None) -> UsageForecast:
    """Read a forecast file: ``.json`` (the JSON form) or ``.csv`` (see the module docstring).

    For CSV the resolution is ``resolution`` or, if None, ``"day"`` when every start is a UTC
    midnight and consecutive starts are a day apart, else ``"hour"``.
    """
    path = Path(source)
    if not path.is_file():
        raise HedgeInputError(str(path), "no such file")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise HedgeInputError(str(path), f"not JSON ({exc})") from None
        if resolution is not None and isinstance(data, dict):
            data = {**data, "resolution": resolution}
        return parse_forecast(data, path.name)
    return parse_csv(text, resolution, path.name)


def parse_csv(text: str, resolution: Resolution | None = None, name: str = "forecast.csv") -> UsageForecast:
    """The CSV forms ``product,start,usage``, ``product,start,q10,q50,...`` and
    ``product,start,scenario,usage`` (see the module docstring)."""
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip() for c in reader.fieldnames or []]
    if columns[:2] != ["product", "start"]:
        raise HedgeInputError(f"{name} header", f"must start with product,start; got {','.join(columns)}")
    rest = columns[2:]
    quantile_levels = [_QUANTILE_COLUMN.match(c) for c in rest]
    if rest == ["usage"]:
        form = "point"
    elif rest == ["scenario", "usage"]:
        form = "scenarios"
    elif rest and all(quantile_levels):
        form = "quantiles"
    else:
        raise HedgeInputError(
            f"{name} header",
            "after product,start expected usage, scenario,usage, or q10,q50,q90-style columns",
        )
    rows: list[tuple[object, str]] = []
    scenarios: dict[tuple[str, str], tuple[dict, str, list]] = {}
    for line, record in enumerate(reader, start=2):
        where = f"{name} line {line}"
        values = {k.strip(): (v or "").strip() for k, v in record.items() if k is not None}
        if None in record:
            raise HedgeInputError(where, "has more fields than the header")
        item: dict = {"product": values["product"], "start": values["start"]}
        if form == "point":
            item["usage"] = _csv_number(values["usage"], f"{where} usage")
            rows.append((item, where))
        elif form == "quantiles":
            item["quantiles"] = {
                f"{float(m.group(1)) / 100:g}": _csv_number(values[c], f"{where} {c}")
                for c, m in zip(rest, quantile_levels, strict=True)
                if m is not None
            }
            rows.append((item, where))
        else:
            key = (values["product"], values["start"])
            if key not in scenarios:
                scenarios[key] = (item, where, [])
                item["scenarios"] = scenarios[key][2]
                rows.append((item, where))
            scenarios[key][2].append(_csv_number(values["usage"], f"{where} usage"))
    if not rows:
        raise HedgeInputError(name, "has no rows")
    if resolution is None:
        resolution = _guess_resolution([str(item["start"]) for item, _ in rows])  # type: ignore[index]
    return _build(resolution, rows)


def _csv_number(text: str, path: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise HedgeInputError(path, f"must be a number, got {text!r}") from None


def _guess_resolution(starts: list[str]) -> Resolution:
    try:
        moments = sorted({datetime.fromisoformat(s) for s in starts})
    except ValueError:
        return "hour"  # the row validation names the bad start
    midnights = all(m.hour == 0 and m.minute == 0 for m in moments)
    daily = all(b - a >= timedelta(days=1) for a, b in itertools.pairwise(moments))
    return "day" if midnights and daily else "hour"


def _build(resolution: str, items: list[tuple[object, str]]) -> UsageForecast:
    if len(items) > MAX_ROWS:
        raise HedgeInputError("forecast", f"has {len(items)} rows; at most {MAX_ROWS} are accepted")
    form: Form | None = None
    levels: tuple[float, ...] = ()
    rows: list[UsageRow] = []
    seen: dict[tuple[str, datetime], str] = {}
    for item, path in items:
        f = Fields(item, path)
        product = f.text("product")
        start = on_hour(f.instant("start"), f.at("start"))  # type: ignore[arg-type]
        if resolution == "day" and start.hour:
            raise HedgeInputError(
                f.at("start"), f"a day row must start at a UTC midnight, got {start.isoformat()}"
            )
        present = [key for key in ("usage", "quantiles", "scenarios") if f.has(key)]
        if len(present) != 1:
            raise HedgeInputError(path, "needs exactly one of usage, quantiles, scenarios")
        kind: Form = "point" if present[0] == "usage" else present[0]  # type: ignore[assignment]
        if form is None:
            form = kind
        elif kind != form:
            raise HedgeInputError(
                f.at(present[0]), f"every row must use the same form; the first used {form}"
            )
        if kind == "point":
            values: tuple[float, ...] = (_usage(f.raw("usage"), f.at("usage")),)
        elif kind == "scenarios":
            values = _scenarios(f.raw("scenarios"), f.at("scenarios"))
            if rows and len(values) != len(rows[0].values):
                raise HedgeInputError(
                    f.at("scenarios"), f"has {len(values)} scenarios; the first row has {len(rows[0].values)}"
                )
        else:
            row_levels, values = _quantiles(f.raw("quantiles"), f.at("quantiles"))
            if not levels:
                levels = row_levels
            elif row_levels != levels:
                raise HedgeInputError(
                    f.at("quantiles"), f"levels {row_levels} differ from the first row's {levels}"
                )
        f.done()
        if (product, start) in seen:
            raise HedgeInputError(
                path, f"{product} at {start.isoformat()} is already given at {seen[product, start]}"
            )
        seen[product, start] = path
        rows.append(UsageRow(product, start, values))
    assert form is not None
    return UsageForecast(resolution, form, levels, tuple(rows))  # type: ignore[arg-type]


def _usage(value: object, path: str) -> float:
    amount = number(value, path)
    if amount < 0.0:
        raise HedgeInputError(path, f"usage cannot be negative, got {amount:g} GPU-hours")
    if amount > MAX_USAGE:
        raise HedgeInputError(path, f"must be at most {MAX_USAGE:g} GPU-hours, got {amount:g}")
    return amount


def _scenarios(value: object, path: str) -> tuple[float, ...]:
    if not isinstance(value, list) or not value:
        raise HedgeInputError(path, "must be a non-empty list of usages")
    if len(value) > MAX_SCENARIOS:
        raise HedgeInputError(path, f"at most {MAX_SCENARIOS} scenarios, got {len(value)}")
    return tuple(_usage(v, f"{path}[{j}]") for j, v in enumerate(value))


def _quantiles(value: object, path: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    if not isinstance(value, dict) or not value:
        raise HedgeInputError(path, 'must be an object of level: usage, e.g. {"0.1": 60, "0.9": 80}')
    pairs = []
    for key, amount in value.items():
        try:
            level = float(key)
        except (TypeError, ValueError):
            raise HedgeInputError(f"{path}.{key}", "the level must be a probability such as 0.9") from None
        if not 0.0 < level < 1.0:
            raise HedgeInputError(
                f"{path}.{key}", f"the level must lie strictly between 0 and 1, got {level:g}"
            )
        pairs.append((level, _usage(amount, f"{path}.{key}")))
    pairs.sort()
    for (low, below), (high, above) in itertools.pairwise(pairs):
        if low == high:
            raise HedgeInputError(path, f"level {low:g} is given twice")
        if above < below:
            raise HedgeInputError(
                f"{path}.{high:g}",
                f"quantiles out of order: {above:g} at level {high:g} is below {below:g} at level {low:g}",
            )
    return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)
