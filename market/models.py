"""Each product's market model: chosen by out-of-sample score, calibrated, stored, refreshed daily.

``refresh_models`` (the lifecycle's ``refresh_models`` duty) runs :func:`pricing.selection.select_model`
on each product's index: every priceable model is backtested on rolling origins (7 days of training,
an origin a day, 1-day and, with 16 days of data, 7-day horizons, 1-day delivery windows, 300 paths),
ranked by mean CRPS, and the best one the pricing engine accepts is calibrated on the last 7 days.
The choice, its score, the ranking, the parameters and the instant of the last observation they were
fitted on are stored in ``market_models`` (one row per product), and ``market.marks`` prices every
mark, margin and quote with it.

Cost control: the data are capped to the last :data:`WINDOW` of fixings, read on their own grid
(hourly for hourly fixings, never finer); a product is recalibrated once per :data:`REFRESH_EVERY`
(a pass in between skips it), and one in fallback only when a new fixing arrived.

**Fallback** (``source="fallback"``, with the reason stored): fewer than :data:`MIN_SPAN` of
history on the window, an index fixed less often than every 6 hours, or no candidate that could be
fitted, scored and priced. Marks then use the lognormal rule of ``market.marks``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from market import index
from market.errors import NotFoundError
from market.records import ModelInfo
from market.tables import MarketModel, Product
from market.units import from_epoch_us

if TYPE_CHECKING:
    import pandas as pd

    from market.house import House

_models = MarketModel.__table__
_products = Product.__table__

WINDOW = timedelta(days=21)
"""History a selection reads (the latest fixings only: older regimes would dominate a week's fit)."""
MIN_SPAN = timedelta(days=9)
"""Shortest history a selection runs on: 7 days of training, a 1-day horizon and window, a day of origins."""
LONG_SPAN = timedelta(days=16)
"""History from which the 7-day horizon is scored too."""
COARSEST_GRID = timedelta(hours=6)
"""An index fixed less often has too few points in a week to fit a model on (fallback)."""
REFRESH_EVERY = timedelta(days=1)
PATHS = 300
_US = 1_000_000


def refresh_models(
    house: House, *, force: bool = False, candidates: Sequence[str] | None = None
) -> list[ModelInfo]:
    """Select and calibrate the market model of every product whose model is due (see the module);
    ``force`` recalibrates them all; ``candidates`` narrows the models ranked (default: every model
    the pricing engine can value). Returns the models written, by product id."""
    now_us = house.now_us()
    written = []
    with house.read() as connection:
        products = list(connection.execute(sa.select(_products.c.id).order_by(_products.c.id)).scalars())
    for product in products:
        if not house.holds(product):  # a shard selects its own products' models
            continue
        with house.read() as connection:
            stored = connection.execute(sa.select(_models).where(_models.c.product == product)).one_or_none()
            fixings = [
                f
                for f in index.history(connection, product, now_us, 4 * 24 * WINDOW.days)
                if f[0] >= now_us - WINDOW.total_seconds() * _US
            ]
        if not fixings or not (force or _due(stored, fixings[-1][0], now_us)):
            continue
        row = _choose(product, fixings, candidates) | {
            "refreshed_us": now_us,
            "last_fixing_us": fixings[-1][0],
        }
        with house.db.begin() as connection:
            connection.execute(_models.delete().where(_models.c.product == product))
            connection.execute(_models.insert().values(**row))
        written.append(_info(row))
    return written


def _due(stored: sa.Row | None, last_fixing_us: int, now_us: int) -> bool:
    if stored is None:
        return True
    if stored.source == "fallback":
        return stored.last_fixing_us != last_fixing_us
    return now_us - stored.refreshed_us >= REFRESH_EVERY.total_seconds() * _US


def _choose(product: str, fixings: list[tuple[int, int]], candidates: Sequence[str] | None) -> dict[str, Any]:
    """The row to store for ``product`` from its recent fixings: a selection, or a fallback and why."""
    import pandas as pd

    from pricing.selection import PRICEABLE, select_model
    from pricing.series import duration, infer_freq, make_series, resample

    base = {"product": product, "observations": len(fixings), "crps": None, "calibrated_us": None}
    fallback = base | {"source": "fallback", "model": "gbm", "params": "{}", "evidence": "{}"}
    if len(fixings) < 2:
        return fallback | {"reason": "one fixing: nothing to fit a model on"}
    raw = make_series([from_epoch_us(t) for t, _ in fixings], [p / 1e6 for _, p in fixings])
    grid = infer_freq(raw)
    if duration(grid) > pd.Timedelta(COARSEST_GRID):
        return fallback | {
            "reason": f"the index is fixed every {grid}; a model needs fixings at least every 6h"
        }
    series = resample(raw, grid, max_gap=max(12 * duration(grid), pd.Timedelta("12h")), on_gap="drop")
    span = series.index[-1] - series.index[0]
    if span < pd.Timedelta(MIN_SPAN):
        days = span / pd.Timedelta(days=1)
        return fallback | {
            "reason": f"{days:.1f} days of index history; model selection needs {MIN_SPAN.days}"
        }
    horizons = ("1d", "7d") if span >= pd.Timedelta(LONG_SPAN) else ("1d",)
    try:
        selection = select_model(
            series, candidates or PRICEABLE, horizons=horizons, n_paths=PATHS, intervals=False
        )
    except ValueError as exc:
        return fallback | {"reason": str(exc)[:500]}
    summary = selection.as_dict()
    evidence = {k: summary[k] for k in ("score", "ranking", "calibration", "settings")}
    return base | {
        "source": "selected",
        "model": selection.model,
        "crps": selection.score.crps if math.isfinite(selection.score.crps) else None,
        "params": json.dumps(selection.params),
        "evidence": json.dumps(evidence, default=_json_default),
        "reason": None,
        "calibrated_us": _epoch_us(selection.as_of),
    }


def _epoch_us(moment: pd.Timestamp) -> int:
    return int(moment.value // 1000)


def _json_default(value: object) -> object:
    """numpy scalars and timestamps in the evidence (everything else is JSON already)."""
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def stored(connection: sa.Connection, product: str) -> ModelInfo | None:
    """The product's stored market model, or None before its first refresh."""
    row = connection.execute(sa.select(_models).where(_models.c.product == product)).one_or_none()
    return None if row is None else _info(dict(row._mapping))


def _info(row: dict[str, Any]) -> ModelInfo:
    evidence = json.loads(row["evidence"])
    calibrated = row["calibrated_us"]
    return ModelInfo(
        product=row["product"],
        source=row["source"],
        model=row["model"],
        params=json.loads(row["params"]),
        calibrated_at=None if calibrated is None else from_epoch_us(calibrated),
        refreshed_at=from_epoch_us(row["refreshed_us"]),
        observations=row["observations"],
        reason=row["reason"],
        score=evidence.get("score"),
        ranking=tuple(evidence.get("ranking", ())),
        calibration=evidence.get("calibration"),
        settings=evidence.get("settings"),
    )


def product_model(house: House, product: str) -> ModelInfo:
    """The market model behind ``product``'s marks now: the stored selection, or the fallback (with
    its live lognormal parameters and the reason) when there is none yet; ``not_found`` for an
    unknown product, ``no_mark`` when it has no fixings."""
    from market import marks

    now_us = house.now_us()
    with house.read() as connection:
        if connection.execute(sa.select(_products.c.id).where(_products.c.id == product)).first() is None:
            raise NotFoundError(f"no product {product!r}", field="product")
        found = stored(connection, product)
        current = marks.model(connection, product, now_us)
    if found is not None and found.source == "selected" and current.source == "selected":
        return found
    reason = current.reason or (found.reason if found is not None else None)
    return ModelInfo(
        product=product,
        source="fallback",
        model="gbm",
        params=current.params,
        calibrated_at=current.calibrated_at,
        refreshed_at=None if found is None else found.refreshed_at,
        observations=0 if found is None else found.observations,
        reason=reason or "no model refresh has run for this product yet",
    )
