"""The catalogue: products (GPU classes) and the instruments listed on them -- forwards, the rolling
series, options and option chains -- and halting or resuming an instrument.

Listing a physical forward gives it the inventory of the listings that already cover its window and
places the asks of their auto-offers (see :mod:`market.capacity`), in the same transaction.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, TypeVar

import sqlalchemy as sa

from market import capacity, listings, marks
from market.errors import (
    AlreadyExistsError,
    BookElsewhereError,
    InstrumentClosedError,
    InvalidAmountError,
    InvalidRequestError,
    NotFoundError,
    UnknownInstrumentError,
)
from market.instruments import (
    Instrument,
    InstrumentKind,
    OptionKind,
    Settlement,
    Status,
    SymbolSpec,
    Window,
    WindowKind,
    check_product_id,
    next_windows,
    parse_symbol,
)
from market.lifecycle.schedule import SeriesPlan, stored_plan
from market.records import InstrumentInfo, ProductInfo, record_of
from market.tables import Instrument as InstrumentTable
from market.tables import Product
from market.units import from_epoch_us, to_epoch_us

if TYPE_CHECKING:
    from market.house import House
    from market.store import UnitOfWork

_products = Product.__table__
_instruments = InstrumentTable.__table__


def create_product(
    house: House,
    product_id: str,
    description: str = "",
    region: str | None = None,
    collateral_per_gpu_day_micros: int = 0,
) -> ProductInfo:
    """Register a GPU class (e.g. ``H100``): its spec (``description``), region and the performance
    collateral providers post per GPU-day they list (see :mod:`market.delivery`)."""
    check_product_id(product_id)
    rate = collateral_per_gpu_day_micros
    if type(rate) is not int or not 0 <= rate <= 10**12:
        raise InvalidAmountError("collateral per GPU-day must be a non-negative amount", field="collateral")
    try:
        with house.db.begin() as connection:
            connection.execute(
                _products.insert(),
                {
                    "id": product_id,
                    "description": description,
                    "region": region,
                    "collateral_per_gpu_day_micros": rate,
                    "created_us": house.now_us(),
                },
            )
    except sa.exc.IntegrityError:
        raise AlreadyExistsError(f"product {product_id} exists", field="product") from None
    return ProductInfo(product_id, description, region, rate)


def products(house: House) -> list[ProductInfo]:
    """Every product."""
    with house.read() as connection:
        rows = connection.execute(sa.select(_products).order_by(_products.c.id))
        return [ProductInfo(r.id, r.description, r.region, r.collateral_per_gpu_day_micros) for r in rows]


def product_schedule(house: House, product: str) -> SeriesPlan:
    """The product's configuration for the lifecycle (the default plan unless one was set)."""
    with house.read() as connection:
        if connection.execute(sa.select(_products.c.id).where(_products.c.id == product)).first() is None:
            raise NotFoundError(f"no product {product!r}", field="product")
        return stored_plan(connection, product)


def set_product_schedule(house: House, product: str, plan: SeriesPlan) -> SeriesPlan:
    """Store the product's lifecycle configuration (the roll applies it on its next run)."""
    with house.db.begin() as connection:
        done = connection.execute(
            _products.update().where(_products.c.id == product).values(schedule=plan.to_json())
        )
    if done.rowcount != 1:
        raise NotFoundError(f"no product {product!r}", field="product")
    return plan


def create_forward(
    house: House,
    product: str,
    window_kind: str,
    start: datetime,
    settlement: str = "physical",
    *,
    tick_micros: int = 1000,
    lot_gpus: int = 1,
    maker_fee_ppm: int = 0,
    taker_fee_ppm: int = 0,
) -> InstrumentInfo:
    """List a forward on the ``window_kind`` window (day, week, month) starting at ``start``.

    Trading stops when delivery starts. A physical forward's inventory comes from the listings
    that already cover its window.
    """
    window = Window(_enum(WindowKind, window_kind, "window_kind"), start)
    _enum(Settlement, settlement, "settlement")
    row = _instrument_row(product, window, InstrumentKind.FORWARD, settlement, tick_micros, lot_gpus)
    row.update(
        maker_fee_ppm=_ppm(maker_fee_ppm, "maker_fee_ppm"),
        taker_fee_ppm=_ppm(taker_fee_ppm, "taker_fee_ppm"),
    )
    return _add_instruments(house, [row])[0]


def create_series(
    house: House,
    product: str,
    *,
    months: int = 3,
    weeks: int = 6,
    days: int = 14,
    settlement: str = "physical",
    tick_micros: int = 1000,
    lot_gpus: int = 1,
) -> list[InstrumentInfo]:
    """Create the rolling series: the next ``months`` months, ``weeks`` ISO weeks and ``days`` days;
    windows that already have an instrument are skipped, so running it daily rolls the series."""
    _enum(Settlement, settlement, "settlement")
    now = from_epoch_us(house.now_us())
    rows = []
    existing = {i.symbol for i in instruments(house, product=product)}
    for kind, count in ((WindowKind.MONTH, months), (WindowKind.WEEK, weeks), (WindowKind.DAY, days)):
        if type(count) is not int or not 0 <= count <= 400:
            raise InvalidRequestError("series counts must be whole numbers up to 400", field=kind.value)
        for window in next_windows(kind, now, count):
            row = _instrument_row(product, window, InstrumentKind.FORWARD, settlement, tick_micros, lot_gpus)
            if row["symbol"] not in existing:
                rows.append(row)
    return _add_instruments(house, rows)


def create_option(
    house: House,
    underlying: str,
    option_kind: str,
    strike_ticks: int,
    *,
    style: str = "european",
    expiry_business_days: int = 2,
    calendar: str = "weekends",
) -> InstrumentInfo:
    """List an option on a forward: ``european`` (expires ``expiry_business_days`` business days
    before delivery and is exercised into the forward, which must be cash-settled) or ``asian``
    (on the product's index average over the window, settled in cash at the window's end)."""
    from pricing.calendar import CALENDARS, business_days_before  # QuantLib loads only when needed

    base = instrument(house, underlying)
    kind = _enum(OptionKind, option_kind, "option_kind")
    if base.kind != InstrumentKind.FORWARD:
        raise InvalidRequestError("options are written on forwards", field="underlying")
    if style not in ("european", "asian"):
        raise InvalidRequestError("style must be european or asian", field="style")
    if type(strike_ticks) is not int or strike_ticks <= 0:
        raise InvalidRequestError("strike must be a positive number of ticks", field="strike")
    if style == "european" and base.settlement != Settlement.CASH:
        raise InvalidRequestError(
            "european options are exercised into cash-settled forwards", field="underlying"
        )
    if calendar not in CALENDARS or type(expiry_business_days) is not int or expiry_business_days < 0:
        raise InvalidRequestError("unknown calendar or negative business days", field="calendar")
    option = _option_spec(underlying, kind, strike_ticks, base.tick_micros, style)
    expiry = (
        business_days_before(base.window_start, expiry_business_days, calendar)
        if style == "european"
        else base.window_start
    )
    row = _instrument_row(option.product, option.window, option.kind, "cash", base.tick_micros, base.lot_gpus)
    row.update(
        symbol=option.symbol,
        underlying=underlying,
        option_kind=kind.value,
        strike_ticks=strike_ticks,
        expiry_us=to_epoch_us(expiry),
        maker_fee_ppm=base.maker_fee_ppm,
        taker_fee_ppm=base.taker_fee_ppm,
    )
    return _add_instruments(house, [row])[0]


def create_option_chain(
    house: House,
    underlying: str,
    *,
    strikes: int = 2,
    step_bps: int = 1000,
    style: str = "european",
    expiry_business_days: int = 2,
    calendar: str = "weekends",
) -> list[InstrumentInfo]:
    """Calls and puts on ``underlying`` at a strike grid around its mark: the mark rounded to the
    tick, and ``strikes`` more each side spaced ``step_bps`` basis points of the mark apart.

    Strikes that already have an option are skipped; ``no_mark`` without index fixings.
    """
    if type(strikes) is not int or not 0 <= strikes <= 20 or type(step_bps) is not int or step_bps <= 0:
        raise InvalidRequestError("strikes must be 0-20 and step_bps positive", field="strikes")
    base = instrument(house, underlying)
    forward = marks.mark(house, underlying, greeks=False).forward_micros
    grid = sorted(
        {
            round(forward * (10_000 + k * step_bps) / 10_000 / base.tick_micros)
            for k in range(-strikes, strikes + 1)
        }
    )
    existing = {i.symbol for i in instruments(house, product=base.product, kind=None)}
    created = []
    for strike in (s for s in grid if s > 0):
        for kind in OptionKind:
            if _option_spec(underlying, kind, strike, base.tick_micros, style).symbol not in existing:
                created.append(
                    create_option(
                        house,
                        underlying,
                        kind.value,
                        strike,
                        style=style,
                        expiry_business_days=expiry_business_days,
                        calendar=calendar,
                    )
                )
    return created


def _instrument_row(
    product: str, window: Window, kind: InstrumentKind, settlement: str, tick_micros: int, lot_gpus: int
) -> dict:
    if type(tick_micros) is not int or tick_micros <= 0 or type(lot_gpus) is not int or lot_gpus <= 0:
        raise InvalidRequestError("tick and lot must be positive integers", field="tick")
    check_product_id(product)
    listed = Instrument(
        symbol=f"{product}-{window.label}",
        product=product,
        kind=kind.value,
        settlement=settlement,
        window_kind=window.kind.value,
        window_start_us=to_epoch_us(window.start),
        window_end_us=to_epoch_us(window.end),
        tick_micros=tick_micros,
        lot_gpus=lot_gpus,
        expiry_us=to_epoch_us(window.start),
    )
    return asdict(listed)


def _add_instruments(house: House, rows: list[dict]) -> list[InstrumentInfo]:
    if not rows:
        return []
    with house.transaction() as uow:
        list_rows(house, uow, rows)
    return [instrument_info(Instrument.of(r)) for r in rows]


def list_rows(house: House, uow: UnitOfWork, rows: list[dict]) -> None:
    """List instrument rows inside ``uow``: write them, give physical forwards their inventory, open
    and lock their books and place the auto-offers (the caller's transaction commits it all)."""
    trading = house.books()
    for row in rows:
        if not house.holds(row["product"]):
            message = f"{row['product']}'s books are held by another shard"
            raise BookElsewhereError(message, row["product"])
        if row["expiry_us"] <= uow.now_us:
            raise InvalidRequestError(f"{row['symbol']} would already be expired", field="start")
        if row["symbol"] in trading.instruments:
            raise AlreadyExistsError(f"instrument {row['symbol']} exists", field="symbol")
        row["created_us"] = uow.now_us
    known = set(uow.connection.execute(sa.select(_products.c.id)).scalars())
    missing = {r["product"] for r in rows} - known
    if missing:
        raise NotFoundError(f"no product {', '.join(sorted(missing))}", field="product")
    uow.connection.execute(_instruments.insert(), rows)
    listed = [Instrument.of(row) for row in rows]
    for inst in listed:
        if inst.is_physical:
            for provider, gpus in listings.capacity_for(uow.connection, inst).items():
                listings.add_capacity(uow.connection, inst.symbol, provider, gpus)
    if house.locks is not None:
        house.locks.acquire(inst.symbol for inst in listed)
    for inst in listed:
        trading.add_instrument(inst)
    for inst in listed:
        if inst.is_physical:
            for listing in listings.auto_offering(uow.connection, inst):
                capacity.auto_offer_asks(house, uow, listing, [inst.symbol])


def instruments(
    house: House, *, product: str | None = None, kind: str | None = None, status: str | None = None
) -> list[InstrumentInfo]:
    """Instruments, filtered, ordered by product, delivery start and symbol."""
    query = sa.select(_instruments).order_by(
        _instruments.c.product, _instruments.c.window_start_us, _instruments.c.symbol
    )
    for column, value in (
        (_instruments.c.product, product),
        (_instruments.c.kind, kind),
        (_instruments.c.status, status),
    ):
        if value is not None:
            query = query.where(column == value)
    with house.read() as connection:
        return [instrument_info(Instrument.of(r._mapping)) for r in connection.execute(query)]


def instrument(house: House, symbol: str) -> InstrumentInfo:
    """One instrument; ``unknown_instrument`` if there is none."""
    with house.read() as connection:
        row = connection.execute(sa.select(_instruments).where(_instruments.c.symbol == symbol)).one_or_none()
    if row is None:
        raise UnknownInstrumentError(f"no instrument {symbol!r}", field="symbol")
    return instrument_info(Instrument.of(row._mapping))


def set_status(house: House, symbol: str, status: str) -> InstrumentInfo:
    """Halt (``halted``: resting orders stay, nothing new trades) or resume (``open``) an instrument."""
    if status not in (Status.OPEN, Status.HALTED):
        raise InvalidRequestError(
            "status can be set to open or halted; expiry and settlement are automatic", field="status"
        )
    with house.transaction() as uow:
        current = house.books().instrument(symbol)
        if current.status not in (Status.OPEN, Status.HALTED):
            raise InstrumentClosedError(f"{symbol} is {current.status}")
        uow.connection.execute(
            _instruments.update().where(_instruments.c.symbol == symbol).values(status=status)
        )
        revised = house.books().revise(symbol, status=status)
    return instrument_info(revised)


def _ppm(value: int, field: str) -> int:
    if type(value) is not int or not 0 <= value <= 100_000:
        raise InvalidRequestError("fees are parts per million between 0 and 100000 (10%)", field=field)
    return value


E = TypeVar("E")


def _enum(enum: type[E], value: str, field: str) -> E:
    try:
        return enum(value)  # type: ignore[call-arg]
    except ValueError:
        choices = ", ".join(m.value for m in enum)  # type: ignore[attr-defined]
        raise InvalidRequestError(f"{field} must be one of {choices}", field=field) from None


def _option_spec(
    underlying: str, kind: OptionKind, strike_ticks: int, tick_micros: int, style: str
) -> SymbolSpec:
    """The spec (and so the symbol) of an option on ``underlying``."""
    spec = parse_symbol(underlying)
    return SymbolSpec(
        product=spec.product,
        window=spec.window,
        kind=InstrumentKind.OPTION if style == "european" else InstrumentKind.ASIAN,
        option_kind=kind,
        strike=Decimal(strike_ticks * tick_micros).scaleb(-6),
    )


def instrument_info(inst: Instrument) -> InstrumentInfo:
    """The record of an instrument (what the API renders)."""
    return record_of(
        InstrumentInfo,
        asdict(inst),
        hours=inst.hours,
        multiplier_micros=inst.multiplier,
        margin_per_lot_micros=inst.margin_per_lot,
    )
