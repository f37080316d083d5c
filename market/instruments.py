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
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

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
