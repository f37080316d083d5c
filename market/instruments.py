"""Products, delivery windows and instrument symbols.

A forward delivers one GPU for every hour of a UTC window ``[start, end)``: a day, an ISO week or a
calendar month. Symbols are readable and parse back to exactly the spec that made them:

==========================  ==============================================
``H100-2027-01``            calendar month January 2027
``H100-2027-W05``           ISO week 5 of 2027 (Monday to Monday)
``H100-2027-01-15``         the day 15 January 2027
``H100-2027-01-C2.50``      European call on that forward, strike 2.50 USD/GPU-h
``H100-2027-01-P2.50``      European put
``H100-2027-01-AC2.50``     Asian (average-price) call over that window on the index
``H100-2027-01-AP2.50``     Asian put
==========================  ==============================================
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from market.errors import InvalidRequestError, InvalidSymbolError


class WindowKind(StrEnum):
    """The length of a delivery window."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class Settlement(StrEnum):
    """How a forward ends: delivery of listed capacity, or cash against the index average."""

    PHYSICAL = "physical"
    CASH = "cash"


class InstrumentKind(StrEnum):
    """What an instrument pays."""

    FORWARD = "forward"
    OPTION = "option"  # European option on a forward, exercised into the forward at expiry
    ASIAN = "asian"  # average-price option on the index over the forward's window, cash settled
    NOTE = "note"  # a securitised pool's tranche note, priced per 100 of face (market.securitization)
    UNIT = "unit"  # a basket fund's unit, priced per unit, holding a strip of forwards (market.baskets)


class OptionKind(StrEnum):
    """Call or put."""

    CALL = "call"
    PUT = "put"


class Status(StrEnum):
    """Instrument lifecycle: open -> halted (and back) -> expired -> settled."""

    OPEN = "open"
    HALTED = "halted"
    EXPIRED = "expired"
    SETTLED = "settled"


PRODUCT_PATTERN = r"^[A-Z][A-Z0-9]{0,15}$"
"""What a product id may be: 1-16 upper-case letters or digits, starting with a letter."""
_PRODUCT = re.compile(PRODUCT_PATTERN)
_SYMBOL = re.compile(
    r"^(?P<product>[A-Z][A-Z0-9]{0,15})-(?P<year>\d{4})-"
    r"(?:W(?P<week>\d{2})|(?P<month>\d{2})(?:-(?P<day>\d{2}))?)"
    r"(?:-(?P<style>A?)(?P<kind>[CP])(?P<strike>\d{1,9}(?:\.\d{1,6})?))?$"
)


def check_product_id(product: str) -> str:
    """Product ids are short upper-case names without dashes (they start every symbol)."""
    if not isinstance(product, str) or not _PRODUCT.match(product):
        raise InvalidRequestError(
            "product id must be 1-16 upper-case letters or digits starting with a letter", field="product"
        )
    return product


@dataclass(frozen=True)
class Window:
    """A UTC delivery window ``[start, end)`` of a given kind."""

    kind: WindowKind
    start: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.start.utcoffset() != timedelta(0):
            raise InvalidRequestError("window start must be an aware UTC datetime", field="start")
        aligned = _align(self.kind, self.start)
        if aligned != self.start:
            message = f"a {self.kind} window must start at {aligned.isoformat()}"
            raise InvalidRequestError(message, field="start")

    @property
    def end(self) -> datetime:
        """The first instant after the window."""
        if self.kind is WindowKind.DAY:
            return self.start + timedelta(days=1)
        if self.kind is WindowKind.WEEK:
            return self.start + timedelta(days=7)
        year, month = divmod(self.start.month, 12)
        return self.start.replace(year=self.start.year + year, month=month + 1)

    @property
    def hours(self) -> int:
        """Whole hours in the window: the GPU-hours one contract delivers per GPU."""
        return int((self.end - self.start).total_seconds()) // 3600

    @property
    def label(self) -> str:
        """The date part of the symbol: ``2027-01``, ``2027-W05`` or ``2027-01-15``."""
        d = self.start.date()
        if self.kind is WindowKind.MONTH:
            return f"{d.year:04d}-{d.month:02d}"
        if self.kind is WindowKind.WEEK:
            iso = d.isocalendar()
            return f"{iso.year:04d}-W{iso.week:02d}"
        return d.isoformat()

    def contains(self, start: datetime, end: datetime) -> bool:
        """Whether this window lies inside ``[start, end)``."""
        return start <= self.start and self.end <= end


def _align(kind: WindowKind, moment: datetime) -> datetime:
    """The start of the window of ``kind`` containing ``moment``."""
    day = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    if kind is WindowKind.DAY:
        return day
    if kind is WindowKind.WEEK:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def next_windows(kind: WindowKind, after: datetime, count: int) -> list[Window]:
    """The next ``count`` windows of ``kind`` that start strictly after ``after``."""
    current = Window(kind, _align(kind, after))
    windows: list[Window] = []
    while len(windows) < count:
        current = Window(kind, current.end)
        windows.append(current)
    return windows


@dataclass(frozen=True)
class SymbolSpec:
    """What a symbol says: product, window, and for options the style, kind and strike."""

    product: str
    window: Window
    kind: InstrumentKind = InstrumentKind.FORWARD
    option_kind: OptionKind | None = None
    strike: Decimal | None = None

    @property
    def underlying(self) -> str:
        """The forward's symbol (the symbol itself for a forward)."""
        return f"{self.product}-{self.window.label}"

    @property
    def symbol(self) -> str:
        """The canonical symbol."""
        if self.kind is InstrumentKind.FORWARD:
            return self.underlying
        style = "A" if self.kind is InstrumentKind.ASIAN else ""
        letter = "C" if self.option_kind is OptionKind.CALL else "P"
        return f"{self.underlying}-{style}{letter}{format_strike(self.strike)}"


def format_strike(strike: Decimal | None) -> str:
    """A strike as it appears in a symbol: at least two decimals, no trailing zeros beyond them."""
    if strike is None or not strike.is_finite() or strike <= 0:
        raise InvalidRequestError("an option needs a positive strike", field="strike")
    text = format(strike.normalize(), "f")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def canonical_symbol(text: str) -> str:
    """The canonical spelling of a symbol: any equivalent decimal spelling of an option's strike
    (``1.3``, ``1.300``, ``01.30``) becomes the one :attr:`SymbolSpec.symbol` prints (``1.30``).

    Text that is not shaped like a symbol is returned unchanged, so the lookup that follows reports
    it as unknown (or invalid) exactly as before.
    """
    match = _SYMBOL.match(text) if isinstance(text, str) else None
    if match is None or not match["strike"] or not Decimal(match["strike"]):
        return text
    strike = format_strike(Decimal(match["strike"]))
    return f"{text[: match.start('strike')]}{strike}"


def parse_symbol(symbol: str) -> SymbolSpec:
    """Parse a symbol back to its spec; raises :class:`InvalidSymbolError` when it is not canonical."""
    match = _SYMBOL.match(symbol) if isinstance(symbol, str) else None
    if match is None:
        raise InvalidSymbolError(f"not a flopex symbol: {symbol!r}", field="symbol")
    year = int(match["year"])
    try:
        if match["week"]:
            monday = date.fromisocalendar(year, int(match["week"]), 1)
            window = Window(WindowKind.WEEK, datetime(monday.year, monday.month, monday.day, tzinfo=UTC))
        elif match["day"]:
            day = datetime(year, int(match["month"]), int(match["day"]), tzinfo=UTC)
            window = Window(WindowKind.DAY, day)
        else:
            window = Window(WindowKind.MONTH, datetime(year, int(match["month"]), 1, tzinfo=UTC))
    except ValueError:
        raise InvalidSymbolError(f"no such date in symbol {symbol!r}", field="symbol") from None
    spec = SymbolSpec(product=match["product"], window=window)
    if match["kind"]:
        spec = SymbolSpec(
            product=spec.product,
            window=window,
            kind=InstrumentKind.ASIAN if match["style"] else InstrumentKind.OPTION,
            option_kind=OptionKind.CALL if match["kind"] == "C" else OptionKind.PUT,
            strike=Decimal(match["strike"]),
        )
    if spec.symbol != symbol:
        message = f"symbol is not canonical: {symbol!r} (expected {spec.symbol!r})"
        raise InvalidSymbolError(message, field="symbol")
    return spec


@dataclass(frozen=True)
class Instrument:
    """A listed contract as the market holds it: a forward, an option or Asian option on one, a
    pool's note or a basket fund's unit, with what it pays per lot (:mod:`market.contracts`).
    Immutable: a change of status, margin or face is a new value (``replace``) that the caller writes
    to the database and hands to :meth:`market.trading.Trading.revise`, so a failed transaction can
    never leave a half-changed instrument behind.

    The fields are the ``instruments`` table's columns (times in epoch microseconds), so a row reads
    in with ``Instrument.of(row)`` and a new one is written as ``dataclasses.asdict`` of one built with
    the defaults of a fresh listing (open, no fees, no margin yet, not settled).
    """

    symbol: str
    product: str
    kind: str
    settlement: str
    window_kind: str
    window_start_us: int
    window_end_us: int
    tick_micros: int
    lot_gpus: int
    expiry_us: int
    status: str = Status.OPEN.value
    underlying: str | None = None
    option_kind: str | None = None
    strike_ticks: int | None = None
    maker_fee_ppm: int = 0
    taker_fee_ppm: int = 0
    margin_per_lot: int = 0
    settle_price_micros: int | None = None
    created_us: int = 0
    face_micros: int | None = None
    """A pool note's face per lot now (None for every other kind)."""

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Instrument:
        """The instrument in a row of the ``instruments`` table (other columns of a join are ignored)."""
        return cls(**{name: row[name] for name in _INSTRUMENT_FIELDS})

    @property
    def hours(self) -> int:
        """Whole hours of the delivery window."""
        return (self.window_end_us - self.window_start_us) // 3_600_000_000

    @property
    def multiplier(self) -> int:
        """Micro-dollars per tick per lot: tick x GPUs per lot x hours of the delivery window (a pool
        note: tick, in millionths of a point, x the face of a lot now / 100; exact, see
        :mod:`market.securitization.notes`; a basket unit: the tick, a lot being one unit)."""
        if self.kind == InstrumentKind.NOTE:
            return self.tick_micros * (self.face_micros or 0) // 100_000_000
        if self.kind == InstrumentKind.UNIT:
            return self.tick_micros  # a lot is one unit, priced per unit
        return self.tick_micros * self.lot_gpus * self.hours

    @property
    def gpu_hours(self) -> int:
        """GPU-hours one lot delivers (or settles in cash): the multiplier per tick."""
        return self.multiplier // self.tick_micros

    @property
    def is_forward(self) -> bool:
        """Whether it is a forward (either settlement)."""
        return self.kind == InstrumentKind.FORWARD

    @property
    def is_physical(self) -> bool:
        """Whether it is a physical forward (delivered GPU-hours backed by listed capacity)."""
        return self.kind == InstrumentKind.FORWARD and self.settlement == Settlement.PHYSICAL

    @property
    def is_note(self) -> bool:
        """Whether it is a securitised pool's note."""
        return self.kind == InstrumentKind.NOTE

    @property
    def pays_premium(self) -> bool:
        """Whether a buyer pays cash at the trade (physical forwards, pool notes and basket units), not
        margin."""
        return self.kind in (InstrumentKind.NOTE, InstrumentKind.UNIT) or self.is_physical

    @property
    def futures_style(self) -> bool:
        """Whether it is an option margined futures-style (every option: all are cash-settled)."""
        return self.kind in (InstrumentKind.OPTION, InstrumentKind.ASIAN)

    @property
    def margined(self) -> bool:
        """Whether positions hold margin and are marked: cash forwards and options (a basket unit is
        paid in full and its strip is margined in the fund's account, see :mod:`market.baskets`)."""
        if self.kind == InstrumentKind.UNIT:
            return False
        return self.kind != InstrumentKind.FORWARD or self.settlement == Settlement.CASH

    def payoff(self, price_micros: int) -> int:
        """What one GPU-hour of a cash forward or an option pays at its settlement (or exercise) price
        ``price_micros``: the price for a forward, the payoff against the strike for an option."""
        if self.is_forward:
            return price_micros
        strike = (self.strike_ticks or 0) * self.tick_micros
        payoff = price_micros - strike if self.option_kind == OptionKind.CALL else strike - price_micros
        return max(payoff, 0)


_INSTRUMENT_FIELDS = tuple(f.name for f in fields(Instrument))
