"""Exact conversions between wire decimal strings and the market's integers.

Inside the market a price is an integer number of ticks, a quantity an integer number of lots and
cash an integer number of micro-dollars; only decimal strings cross the wire. Every conversion here is
exact or refuses: a price that is not a whole number of ticks, an amount finer than a micro-dollar,
NaN, infinities and absurd magnitudes raise a :class:`~market.errors.MarketError` naming the field.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal, Inexact, InvalidOperation, Overflow, Underflow

from market.errors import InvalidAmountError, OffTickError

MICROS_PER_DOLLAR = 1_000_000
DEFAULT_TICK_MICROS = 1_000  # USD 0.001 per GPU-hour
MAX_MICROS = 2**62  # far beyond any real balance, far inside int64
_MICRO = Decimal(1).scaleb(-6)
_EXACT = Context(prec=64, traps=[Inexact, InvalidOperation, Overflow, Underflow])
"""Scaling a parsed string (at most 40 digits) to micro-dollars: exact, or a trap (never a rounding)."""


def _decimal(text: str, field: str) -> Decimal:
    """Parse a finite decimal string of sane size."""
    if not isinstance(text, str) or len(text) > 40:
        raise InvalidAmountError(f"{field} must be a decimal string", field=field)
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise InvalidAmountError(f"{field} is not a decimal number: {text!r}", field=field) from None
    if not value.is_finite():
        raise InvalidAmountError(f"{field} must be finite", field=field)
    return value


def _micros(text: str, field: str) -> Decimal:
    """``text`` dollars as micro-dollars, exactly (the default context would round past 28 digits and
    raise :class:`decimal.Overflow`, no ``MarketError``, on an exponent like ``1E+999999``)."""
    value = _decimal(text, field)
    try:
        micros = _EXACT.multiply(value, MICROS_PER_DOLLAR)
    except (Inexact, Overflow, Underflow):
        raise InvalidAmountError(f"{field} is out of range", field=field) from None
    if abs(micros) > MAX_MICROS:
        raise InvalidAmountError(f"{field} is out of range", field=field)
    return micros


def dollars_to_micros(text: str, field: str = "amount") -> int:
    """``"12.5"`` -> ``12_500_000``; refuses amounts finer than one micro-dollar."""
    micros = _micros(text, field)
    if micros != micros.to_integral_value():
        raise InvalidAmountError(f"{field} has more precision than one micro-dollar", field=field)
    return int(micros)


def micros_to_dollars(micros: int) -> str:
    """``12_500_000`` -> ``"12.500000"``: always six decimals so amounts line up."""
    return str((Decimal(micros) * _MICRO).quantize(_MICRO))


def price_to_ticks(text: str, tick_micros: int, field: str = "price") -> int:
    """A USD/GPU-hour price string -> ticks of ``tick_micros`` micro-dollars; refuses off-tick prices."""
    micros = _micros(text, field)
    ticks, remainder = divmod(micros, tick_micros)
    if remainder != 0:
        tick = micros_to_price(tick_micros)
        raise OffTickError(f"{field} {text} is not a multiple of the tick {tick}", field=field)
    return int(ticks)


def ticks_to_price(ticks: int, tick_micros: int) -> str:
    """Ticks -> a USD/GPU-hour decimal string with as many decimals as the tick needs."""
    return micros_to_price(ticks * tick_micros, tick_micros)


def nearest_ticks(micros: int, tick_micros: int) -> int:
    """Micro-dollars per GPU-hour rounded to the nearest whole tick (halves to even): how a model
    value (a fair value, a mark) is shown on an instrument's price grid."""
    return int((Decimal(micros) / tick_micros).to_integral_value(rounding=ROUND_HALF_EVEN))


def micros_to_price(micros: int, tick_micros: int = 1) -> str:
    """Micro-dollars per GPU-hour -> a decimal string with the decimals of ``tick_micros`` (at least 2)."""
    places = max(2, 6 - _trailing_zeros(tick_micros))
    quantum = Decimal(1).scaleb(-places)
    return str((Decimal(micros) * _MICRO).quantize(quantum))


def _trailing_zeros(n: int) -> int:
    count = 0
    while n and n % 10 == 0 and count < 6:
        n //= 10
        count += 1
    return count


def to_epoch_us(moment: datetime) -> int:
    """An aware UTC datetime -> integer microseconds since the epoch (the engine's clock unit)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: flopex uses aware UTC datetimes")
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_epoch_us(us: int) -> datetime:
    """Integer microseconds since the epoch -> an aware UTC datetime."""
    return datetime.fromtimestamp(us // 1_000_000, tz=UTC).replace(microsecond=us % 1_000_000)
