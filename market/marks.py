"""Marks: the pricing core's fair value and Greeks for every instrument, and the margins they set.

The market model of a product (:func:`model`) is the one ``market.models`` selected and calibrated
for it, brought to the valuation instant by :func:`pricing.market_model.present`: its state
re-anchored on the **filtered** index (a running median of five fixings,
:func:`market.index.filtered`, so one outlying print moves no mark) and its level moved so that the
forwards traded since the latest fixing (and within :data:`TRADED_WITHIN`) reprice at their
volume-weighted prices. Its term structure is the model's own between those points: a mean-reverting
model's near windows sit near the index and far ones near its long-run level (moved by the trades).

**Fallback** (no selection yet, too little data, a stored calibration later than the valuation
instant, or a model the engine refuses once moved): a driftless geometric Brownian motion (``gbm``
with carry 0, the Black-76 setting) whose spot is the filtered index and whose volatility is
``vol^2 = mean(r_i^2 / dt_i)`` over the log-returns of the last ``VOL_WINDOW`` fixings (at least
``MIN_FIXINGS``; otherwise ``DEFAULT_VOL``), clamped to ``[0.05, 3]``; traded forwards set its carry.

Valuation instants become year fractions (ACT/365F) and delivery windows daily fixing grids through
``pricing.calendar``. A forward's fair value is the mean forward over its window; a European option
is valued on that window average (a swap underlying) at its expiry; an Asian option on the
arithmetic average of the index over the window (Monte Carlo, fixed seed). Margins are the clearing
house's scan of one lot at the product's margin volatility, whose current part is the model's own
two-day volatility of the index (:func:`volatility`, :func:`pricing.market_model.margin_vol`).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from market import index, margin, models
from market.errors import NoMarkError, UnknownInstrumentError
from market.instruments import Instrument, Status
from market.lifecycle.schedule import is_stale, stored_plan
from market.records import MarkInfo
from market.tables import BASKET, EXERCISE, Product, Trade
from market.tables import Instrument as InstrumentTable
from market.units import from_epoch_us

if TYPE_CHECKING:
    import pandas as pd

    from market.house import House

_instruments = InstrumentTable.__table__
_trades = Trade.__table__

DEFAULT_VOL = 0.6
MIN_FIXINGS = 10
VOL_WINDOW = 500
MC_PATHS = 20_000
TRADED_WITHIN = timedelta(hours=24)
"""Trades of a forward this recent set the curve's level (older prices are the market of another day)."""
ANCHOR_HISTORY = timedelta(days=7)
"""Filtered index a selected model is re-anchored on (the Kalman state of schwartz_smith needs a past)."""
_US_PER_YEAR = 365 * 86_400 * 1_000_000


@dataclass(frozen=True)
class CurrentModel:
    """A product's market model valued at an instant: ``params`` is the pricing MODEL object (t = 0
    then); ``name``, ``source`` (``selected`` or ``fallback``, with the ``reason``) and
    ``calibrated_at`` say where it came from; ``quotes`` counts the traded forwards its level was
    fitted to."""

    params: dict
    name: str
    source: str
    calibrated_at: datetime | None
    reason: str | None = None
    quotes: int = 0


def model(connection: sa.Connection, product: str, now_us: int) -> CurrentModel:
    """The product's market model as of ``now_us`` (see the module); ``no_mark`` without fixings."""
    import pandas as pd

    from pricing.market_model import present
    from pricing.request import RequestError

    fixings = index.history(connection, product, now_us, VOL_WINDOW)
    if not fixings:
        raise NoMarkError(f"{product} has no index fixings yet")
    smooth = index.filtered(fixings)
    quotes = _traded_forwards(connection, product, fixings[-1][0], now_us)
    found = models.stored(connection, product)
    reason = None if found is None else found.reason
    if found is not None and found.source == "selected":
        calibrated_us = round(found.calibrated_at.timestamp() * 1e6)
        if calibrated_us > now_us:
            reason = "the stored calibration is later than the valuation instant"
        else:
            recent = [f for f in smooth if f[0] >= calibrated_us - ANCHOR_HISTORY.total_seconds() * 1e6]
            history = _series(recent or smooth[-1:], now_us)
            for fitted in (quotes, quotes[:1], []) if quotes else ([],):
                try:
                    params = present(found.params, pd.Timestamp(found.calibrated_at), history, fitted)
                except (RequestError, ValueError) as exc:
                    reason = f"{found.model} refused at this instant: {exc}"
                    continue
                return CurrentModel(params, found.model, "selected", found.calibrated_at, None, len(fitted))
    return _fallback(fixings, smooth[-1][1], quotes, now_us, reason)


def _fallback(
    fixings: list[tuple[int, int]], spot_micros: int, quotes: list[dict], now_us: int, reason: str | None
) -> CurrentModel:
    """The lognormal rule (see the module), its carry fitted to the traded forwards when they agree."""
    import pandas as pd

    from pricing.market_model import present
    from pricing.request import RequestError

    vol = DEFAULT_VOL
    if len(fixings) >= MIN_FIXINGS:
        terms = [
            math.log(p1 / p0) ** 2 / ((t1 - t0) / _US_PER_YEAR)
            for (t0, p0), (t1, p1) in itertools.pairwise(fixings)
            if t1 > t0
        ]
        if terms:
            vol = min(max(math.sqrt(sum(terms) / len(terms)), 0.05), 3.0)
    params = {"type": "gbm", "spot": spot_micros / 1e6, "vol": vol, "carry": 0.0}
    if quotes:
        now = from_epoch_us(now_us)
        try:
            params = present(params, pd.Timestamp(now), _series([(now_us, spot_micros)], now_us), quotes)
        except (RequestError, ValueError):
            return CurrentModel(params, "gbm", "fallback", None, reason, 0)
    return CurrentModel(params, "gbm", "fallback", None, reason, len(quotes))


def _series(fixings: list[tuple[int, int]], now_us: int) -> pd.Series:
    """Fixings as a price series (USD) that ends at ``now_us`` (the last price still posted then)."""
    import pandas as pd

    times = [t for t, _ in fixings]
    prices = [p / 1e6 for _, p in fixings]
    if times[-1] < now_us:
        times.append(now_us)
        prices.append(prices[-1])
    return pd.Series(prices, index=pd.to_datetime(times, unit="us", utc=True), dtype=float)


def _traded_forwards(connection: sa.Connection, product: str, index_us: int, now_us: int) -> list[dict]:
    """``{"fixings", "price"}`` quotes of the product's forwards not yet delivering, at the VWAP of
    their trades after the latest fixing (``index_us``: a newer index supersedes older trades) and in
    the last :data:`TRADED_WITHIN` (exercises excluded), on the marks' daily grid.

    Only trades strictly before ``now_us`` count, so the mark as of an instant is reproducible: a
    clearing pass prices at T before its liquidations trade at T, and a later replay of T agrees."""
    from pricing.calendar import fixing_times

    since = max(index_us, now_us - int(TRADED_WITHIN.total_seconds() * 1_000_000))
    rows = connection.execute(
        sa.select(
            _instruments.c.window_start_us,
            _instruments.c.window_end_us,
            _instruments.c.tick_micros,
            sa.func.sum(_trades.c.price_ticks * _trades.c.qty),
            sa.func.sum(_trades.c.qty),
        )
        .join(_trades, _trades.c.symbol == _instruments.c.symbol)
        .where(
            _instruments.c.product == product,
            _instruments.c.kind == "forward",
            _instruments.c.window_start_us > now_us,
            _trades.c.created_us >= since,
            _trades.c.created_us < now_us,  # strictly before: a mark as of T never moves with T's own trades
            _trades.c.maker_order_id.notin_((EXERCISE, BASKET)),
        )
        .group_by(_instruments.c.symbol, _instruments.c.window_start_us, _instruments.c.window_end_us,
                  _instruments.c.tick_micros)
        .order_by(_instruments.c.window_start_us)
    ).all()  # fmt: skip
    now = from_epoch_us(now_us)
    quotes = []
    for start_us, end_us, tick, notional, qty in rows:
        start = max(from_epoch_us(start_us), _next_day(now))
        grid = list(fixing_times(now, start, from_epoch_us(end_us), "daily"))
        if grid and qty:
            quotes.append({"fixings": grid, "price": int(notional) * tick / int(qty) / 1e6})
    return quotes


def price(
    connection: sa.Connection,
    instrument: Instrument,
    now_us: int,
    *,
    greeks: bool = False,
    chosen: CurrentModel | None = None,
) -> tuple[CurrentModel, dict]:
    """``(model, result)`` of ``pricing.price`` for an instrument row, in USD per GPU-hour (``chosen``:
    the product's model at ``now_us`` when the caller already has it)."""
    import pricing

    if instrument.kind in ("note", "unit"):
        raise NoMarkError(f"{instrument.symbol} is a {instrument.kind}: its price is its book")
    if chosen is None:
        chosen = model(connection, instrument.product, now_us)
    now = from_epoch_us(now_us)
    grid = window_grid(instrument, now_us)
    if not grid:
        spot = float(
            pricing.price({"model": chosen.params, "instrument": {"type": "forward", "fixings": [0.0]}})[
                "value"
            ]
        )
        return chosen, {"value": spot, "forward": spot, "greeks": None}
    if instrument.is_forward:
        request = {"type": "forward", "fixings": grid}
    else:
        strike = instrument.strike_ticks * instrument.tick_micros / 1e6
        if instrument.kind == "option":
            from pricing.calendar import year_fraction

            expiry = max(year_fraction(now, from_epoch_us(instrument.expiry_us)), 1e-6)
            underlying = {"swap": [max(t, expiry) for t in grid]}
            request = {
                "type": "european",
                "kind": instrument.option_kind,
                "strike": strike,
                "expiry": expiry,
                "underlying": underlying,
            }
        else:
            request = {"type": "asian", "kind": instrument.option_kind, "strike": strike, "fixings": grid}
            request["average"] = "arithmetic"
    try:  # a mark that cannot be computed accurately is no mark, never a confident wrong number
        result = pricing.price(
            {
                "model": chosen.params,
                "instrument": request,
                "rate": 0.0,
                "greeks": greeks,
                "mc": {"paths": MC_PATHS, "seed": 0},
            }
        )
    except pricing.NotComputableError as exc:
        raise NoMarkError(f"{instrument.symbol} cannot be marked accurately now: {exc}") from None
    return chosen, result


def window_grid(instrument: Instrument, now_us: int) -> list[float]:
    """The daily fixing times (years from ``now_us``) of the instrument's window still to come: from
    the first UTC midnight after now (empty once the window has begun its last day)."""
    from pricing.calendar import fixing_times

    now = from_epoch_us(now_us)
    start = max(from_epoch_us(instrument.window_start_us), _next_day(now))
    end = from_epoch_us(instrument.window_end_us)
    return list(fixing_times(now, start, end, "daily")) if start < end else []


def _next_day(now: datetime) -> datetime:
    """The first whole UTC day boundary after ``now`` (the daily grid starts there)."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight if midnight == now else midnight + timedelta(days=1)


def fair_value_micros(connection: sa.Connection, instrument: Instrument, now_us: int) -> int:
    """The fair value of an instrument in micro-dollars per GPU-hour."""
    return round(price(connection, instrument, now_us)[1]["value"] * 1e6)


def margin_per_lot(
    connection: sa.Connection,
    instrument: Instrument,
    now_us: int,
    chosen: CurrentModel | None = None,
    vol: float | None = None,
) -> int:
    """The initial margin per lot the instrument's positions and orders hold: the clearing house's own
    rate (:func:`market.clearing.portfolio.lot_margin`, the portfolio scan of one lot at the product's
    margin volatility, ``vol`` when the caller has it for the product already), so a pre-trade check
    never uses a second formula."""
    from market.clearing.portfolio import lot_margin  # the clearing room builds on the marks
    from market.clearing.valuation import Mark, product_vol

    chosen, result = price(connection, instrument, now_us, chosen=chosen)
    if vol is None:
        found = product_vol(connection, instrument.product, now_us)
        if found is None:
            raise NoMarkError(f"no fixings for {instrument.product}")
        vol = found.margin
    mark_ = Mark(instrument.symbol, round(result["forward"] * 1e6), round(result["value"] * 1e6))
    return lot_margin(instrument, mark_, vol, now_us)


def _margin_vol(connection: sa.Connection, product: str, now_us: int) -> float:
    """The product's margin volatility (the clearing house's blend); ``no_mark`` without fixings."""
    from market.clearing.valuation import product_vol

    found = product_vol(connection, product, now_us)
    if found is None:
        raise NoMarkError(f"no fixings for {product}")
    return found.margin


def volatility(connection: sa.Connection, product: str, now_us: int) -> float:
    """The annualised volatility of the product's index over the margin horizon under its market
    model (for the fallback gbm, its ``vol``), clamped to ``[0.05, 3]`` like the old estimator;
    ``no_mark`` without fixings."""
    from pricing.market_model import margin_vol

    chosen = model(connection, product, now_us)
    vol = margin_vol(chosen.params, [margin.HORIZON_YEARS], margin.HORIZON_YEARS)
    return min(max(vol, 0.05), 3.0)


def mark(house: House, symbol: str, *, greeks: bool = True) -> MarkInfo:
    """The pricing core's fair value (micro-dollars per GPU-hour) and Greeks for an instrument;
    ``no_mark`` when its product has no fixings."""
    now = house.now_us()
    with house.read() as connection:
        row = connection.execute(sa.select(_instruments).where(_instruments.c.symbol == symbol)).one_or_none()
        if row is None:
            raise UnknownInstrumentError(f"no instrument {symbol!r}", field="symbol")
        chosen, result = price(connection, Instrument.of(row._mapping), now, greeks=greeks)
        last = _last_fixing(connection, row.product, now)
        plan = stored_plan(connection, row.product)
    return MarkInfo(
        symbol=symbol,
        fair_value_micros=round(result["value"] * 1e6),
        forward_micros=round(result["forward"] * 1e6),
        greeks=result.get("greeks"),
        model=chosen.params,
        as_of=from_epoch_us(now),
        index_as_of=last,
        stale=is_stale(last, from_epoch_us(now), plan),
        model_name=chosen.name,
        model_source=chosen.source,
        calibrated_at=chosen.calibrated_at,
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
    updated: dict[str, int] = {}
    chosen: dict[str, CurrentModel | None] = {}  # each product's model, computed once per pass
    vols: dict[str, float] = {}  # and its margin volatility
    with house.transaction() as uow:
        for symbol, inst in list(house.books().instruments.items()):
            if not inst.margined or inst.status not in (Status.OPEN, Status.HALTED):
                continue
            product = inst.product
            if product not in chosen:
                try:
                    chosen[product] = model(uow.connection, product, uow.now_us)
                except NoMarkError:
                    chosen[product] = None
            if chosen[product] is None:
                continue
            try:
                if product not in vols:
                    vols[product] = _margin_vol(uow.connection, product, uow.now_us)
                value = margin_per_lot(uow.connection, inst, uow.now_us, chosen[product], vols[product])
            except NoMarkError:
                continue
            uow.connection.execute(
                _instruments.update().where(_instruments.c.symbol == symbol).values(margin_per_lot=value)
            )
            house.books().revise(symbol, margin_per_lot=value)
            updated[symbol] = value
    return updated
