"""Marks: the pricing core's fair value and Greeks for every instrument, and the margins they set.

The market model of a product is a driftless geometric Brownian motion (``gbm`` with carry 0, so the
spot is its own forward -- the Black-76 setting): the spot is the latest index fixing and the
volatility is estimated from the fixings, ``vol^2 = mean(r_i^2 / dt_i)`` over the log-returns of the
last ``VOL_WINDOW`` fixings (at least ``MIN_FIXINGS``; otherwise ``DEFAULT_VOL``), clamped to
``[0.05, 3]``. Valuation instants become year fractions (ACT/365F) and delivery windows daily fixing
grids through ``pricing.calendar``. A forward's fair value is the mean forward over its window; a
European option is valued on that window average (a swap underlying) at its expiry; an Asian option
on the arithmetic average of the index over the window (Monte Carlo, fixed seed).
"""

from __future__ import annotations

import itertools
import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from market import index, margin
from market.errors import NoMarkError, UnknownInstrumentError
from market.instruments import Status
from market.lifecycle.schedule import is_stale, stored_plan
from market.records import MarkInfo
from market.tables import Instrument, Product
from market.units import from_epoch_us

if TYPE_CHECKING:
    from market.house import House

_instruments = Instrument.__table__

DEFAULT_VOL = 0.6
MIN_FIXINGS = 10
VOL_WINDOW = 500
MC_PATHS = 20_000
_US_PER_YEAR = 365 * 86_400 * 1_000_000


def model(connection: sa.Connection, product: str, now_us: int) -> dict:
    """The product's pricing model (a ``pricing.price`` model dict) as of ``now_us``."""
    fixings = index.history(connection, product, now_us, VOL_WINDOW)
    if not fixings:
        raise NoMarkError(f"{product} has no index fixings yet")
    vol = DEFAULT_VOL
    if len(fixings) >= MIN_FIXINGS:
        terms = [
            math.log(p1 / p0) ** 2 / ((t1 - t0) / _US_PER_YEAR)
            for (t0, p0), (t1, p1) in itertools.pairwise(fixings)
            if t1 > t0
        ]
        if terms:
            vol = min(max(math.sqrt(sum(terms) / len(terms)), 0.05), 3.0)
    return {"type": "gbm", "spot": fixings[-1][1] / 1e6, "vol": vol, "carry": 0.0}


def price(
    connection: sa.Connection, instrument: dict, now_us: int, *, greeks: bool = False
) -> tuple[dict, dict]:
    """``(model, result)`` of ``pricing.price`` for an instrument row, in USD per GPU-hour."""
    import pricing
    from pricing.calendar import fixing_times, year_fraction

    if instrument["kind"] == "note":
        raise NoMarkError(
            f"{instrument['symbol']} is a pool note: its price is its book, not the index model"
        )
    now = from_epoch_us(now_us)
    chosen = model(connection, instrument["product"], now_us)
    start = max(from_epoch_us(instrument["window_start_us"]), _next_day(now))
    end = from_epoch_us(instrument["window_end_us"])
    if start >= end:
        return chosen, {"value": chosen["spot"], "forward": chosen["spot"], "greeks": None}
    grid = list(fixing_times(now, start, end, "daily"))
    if instrument["kind"] == "forward":
        request = {"type": "forward", "fixings": grid}
    else:
        strike = instrument["strike_ticks"] * instrument["tick_micros"] / 1e6
        if instrument["kind"] == "option":
            expiry = max(year_fraction(now, from_epoch_us(instrument["expiry_us"])), 1e-6)
            underlying = {"swap": [max(t, expiry) for t in grid]}
            request = {
                "type": "european",
                "kind": instrument["option_kind"],
                "strike": strike,
                "expiry": expiry,
                "underlying": underlying,
            }
        else:
            request = {"type": "asian", "kind": instrument["option_kind"], "strike": strike, "fixings": grid}
            request["average"] = "arithmetic"
    try:  # a mark that cannot be computed accurately is no mark, never a confident wrong number
        result = pricing.price(
            {
                "model": chosen,
                "instrument": request,
                "rate": 0.0,
                "greeks": greeks,
                "mc": {"paths": MC_PATHS, "seed": 0},
            }
        )
    except pricing.NotComputableError as exc:
        raise NoMarkError(f"{instrument['symbol']} cannot be marked accurately now: {exc}") from None
    return chosen, result


def _next_day(now: datetime) -> datetime:
    """The first whole UTC day boundary after ``now`` (the daily grid starts there)."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight if midnight == now else midnight + timedelta(days=1)


def fair_value_micros(connection: sa.Connection, instrument: dict, now_us: int) -> int:
    """The fair value of an instrument in micro-dollars per GPU-hour."""
    return round(price(connection, instrument, now_us)[1]["value"] * 1e6)


def margin_per_lot(connection: sa.Connection, instrument: dict, now_us: int) -> int:
    """The initial margin per lot the instrument's positions and orders hold (see :mod:`market.margin`)."""
    chosen, result = price(connection, instrument, now_us)
    gpu_hours = (
        instrument["lot_gpus"]
        * (instrument["window_end_us"] - instrument["window_start_us"])
        // 3_600_000_000
    )
    forward = result["forward"] * 1e6
    if instrument["kind"] == "forward":
        return margin.forward_margin_micros(forward, chosen["vol"], gpu_hours)
    return margin.writer_margin_micros(result["value"] * 1e6, forward, chosen["vol"], gpu_hours)


def mark(house: House, symbol: str, *, greeks: bool = True) -> MarkInfo:
    """The pricing core's fair value (micro-dollars per GPU-hour) and Greeks for an instrument;
    ``no_mark`` when its product has no fixings."""
    now = house.now_us()
    with house.read() as connection:
        row = connection.execute(sa.select(_instruments).where(_instruments.c.symbol == symbol)).one_or_none()
        if row is None:
            raise UnknownInstrumentError(f"no instrument {symbol!r}", field="symbol")
        chosen, result = price(connection, dict(row._mapping), now, greeks=greeks)
        last = _last_fixing(connection, row.product, now)
        plan = stored_plan(connection, row.product)
    return MarkInfo(
        symbol=symbol,
        fair_value_micros=round(result["value"] * 1e6),
        forward_micros=round(result["forward"] * 1e6),
        greeks=result.get("greeks"),
        model=chosen,
        as_of=from_epoch_us(now),
        index_as_of=last,
        stale=is_stale(last, from_epoch_us(now), plan),
    )


def _last_fixing(connection: sa.Connection, product: str, now_us: int) -> datetime | None:
    latest = index.history(connection, product, now_us, 1)
    return from_epoch_us(latest[0][0]) if latest else None


def stale_indexes(house: House) -> list[str]:
    """Products whose index has fixings but none recent enough for their plan, by id (their marks
    are flagged ``stale``; a product without any fixing has no mark at all, which is not stale)."""
    now = house.now_us()
    products = Product.__table__
    stale = []
    with house.read() as connection:
        for product in connection.execute(sa.select(products.c.id).order_by(products.c.id)).scalars():
            last = _last_fixing(connection, product, now)
            if is_stale(last, from_epoch_us(now), stored_plan(connection, product)):
                stale.append(product)
    return stale


def refresh_marks(house: House) -> dict[str, int]:
    """Recompute the margin per lot of every open margined instrument from its mark.

    Returns ``{symbol: margin_per_lot}`` for the instruments updated (products without fixings
    are skipped). New holds use the new margin; existing positions keep what they hold until
    they next trade.
    """
    updated = {}
    with house.transaction() as uow:
        for symbol, inst in house.books().instruments.items():
            margined = inst["kind"] != "forward" or inst["settlement"] == "cash"
            if not margined or inst["status"] not in (Status.OPEN, Status.HALTED):
                continue
            try:
                value = margin_per_lot(uow.connection, inst, uow.now_us)
            except NoMarkError:
                continue
            uow.connection.execute(
                _instruments.update().where(_instruments.c.symbol == symbol).values(margin_per_lot=value)
            )
            inst["margin_per_lot"] = value
            updated[symbol] = value
    return updated
