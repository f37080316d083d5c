"""Exact unit conversions and symbols that parse back to their specs (pure, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from market.errors import (
    HTTP_STATUS,
    InvalidAmountError,
    InvalidRequestError,
    InvalidSymbolError,
    MarketError,
    OffTickError,
)
from market.instruments import (
    InstrumentKind,
    OptionKind,
    SymbolSpec,
    Window,
    WindowKind,
    next_windows,
    parse_symbol,
)
from market.units import (
    dollars_to_micros,
    from_epoch_us,
    micros_to_dollars,
    price_to_ticks,
    ticks_to_price,
    to_epoch_us,
)


def test_prices_convert_exactly_or_refuse() -> None:
    assert price_to_ticks("2.125", 1000) == 2125
    assert price_to_ticks("2.5", 500_000) == 5
    assert ticks_to_price(2125, 1000) == "2.125"
    assert ticks_to_price(5, 500_000) == "2.50"
    with pytest.raises(OffTickError) as off:
        price_to_ticks("2.1255", 1000)
    assert off.value.field == "price"
    for bad in ("NaN", "Infinity", "-inf", "1e400", "abc", "", "1" * 41):
        with pytest.raises(InvalidAmountError):
            price_to_ticks(bad, 1000)


def test_conversions_never_round_and_never_escape_as_decimal_errors() -> None:
    """Past 28 significant digits the default decimal context rounds (an off-tick price became on-tick,
    an amount finer than a micro-dollar whole), and a huge exponent raised decimal.Overflow (no
    MarketError, so no 400)."""
    with pytest.raises(OffTickError):
        price_to_ticks("1.0010000000000000000000000001", 1000)
    with pytest.raises(InvalidAmountError):
        dollars_to_micros("1.0000000000000000000000000001")
    for bad in ("1E+999999", "-9e999999", "1e-999999999"):
        with pytest.raises(InvalidAmountError):
            price_to_ticks(bad, 1000)
        with pytest.raises(InvalidAmountError):
            dollars_to_micros(bad)
    assert price_to_ticks("1.0010000000000000000000000000", 1000) == 1001  # exact zeros are fine


def test_money_converts_to_whole_micro_dollars() -> None:
    assert dollars_to_micros("12.5") == 12_500_000
    assert dollars_to_micros("-0.000001") == -1
    assert micros_to_dollars(12_500_000) == "12.500000"
    assert micros_to_dollars(-1) == "-0.000001"
    with pytest.raises(InvalidAmountError):
        dollars_to_micros("0.0000001")
    with pytest.raises(InvalidAmountError):
        dollars_to_micros(12.5)  # floats never touch money


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_money_round_trips(micros: int) -> None:
    assert dollars_to_micros(micros_to_dollars(micros)) == micros


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)))
def test_instants_round_trip(moment: datetime) -> None:
    assert from_epoch_us(to_epoch_us(moment)) == moment


def test_error_codes_are_stable_and_mapped() -> None:
    assert HTTP_STATUS["insufficient_funds"] == 409
    assert HTTP_STATUS["unknown_instrument"] == 404
    assert HTTP_STATUS["off_tick"] == 400
    error = MarketError("custom_code", "a message", field="x")
    assert (error.code, error.message, error.field) == ("custom_code", "a message", "x")


def test_windows_have_the_right_hours() -> None:
    assert Window(WindowKind.MONTH, datetime(2027, 2, 1, tzinfo=UTC)).hours == 28 * 24
    assert Window(WindowKind.WEEK, datetime(2027, 2, 1, tzinfo=UTC)).hours == 168  # a Monday
    with pytest.raises(InvalidRequestError):
        Window(WindowKind.WEEK, datetime(2027, 2, 2, tzinfo=UTC))  # a Tuesday
    with pytest.raises(InvalidRequestError):
        Window(WindowKind.DAY, datetime(2027, 2, 2))  # naive
    after = datetime(2026, 12, 31, 23, tzinfo=UTC)
    assert [w.label for w in next_windows(WindowKind.MONTH, after, 2)] == ["2027-01", "2027-02"]
    assert [w.label for w in next_windows(WindowKind.DAY, after, 1)] == ["2027-01-01"]


def test_symbols_parse_back() -> None:
    spec = parse_symbol("H100-2027-01-AC2.50")
    assert (spec.product, spec.kind, spec.option_kind, spec.strike) == (
        "H100",
        InstrumentKind.ASIAN,
        OptionKind.CALL,
        Decimal("2.50"),
    )
    assert spec.underlying == "H100-2027-01"
    assert parse_symbol("H100-2027-W05").window.start == datetime(2027, 2, 1, tzinfo=UTC)
    for bad in ("H100-2027-13", "H100-2027-02-30", "h100-2027-01", "H100-2027-01-C2.5", "H100-2027-W54", "X"):
        with pytest.raises(InvalidSymbolError):
            parse_symbol(bad)


windows = st.builds(
    lambda kind, days: Window(
        kind, next_windows(kind, datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=days), 1)[0].start
    ),
    st.sampled_from(list(WindowKind)),
    st.integers(0, 3000),
)


@given(
    product=st.from_regex(r"[A-Z][A-Z0-9]{0,7}", fullmatch=True),
    window=windows,
    option=st.none() | st.tuples(st.sampled_from(list(OptionKind)), st.booleans(), st.integers(1, 10**7)),
)
def test_every_spec_round_trips_through_its_symbol(
    product: str, window: Window, option: tuple | None
) -> None:
    if option is None:
        spec = SymbolSpec(product, window)
    else:
        kind, asian, strike_micros = option
        spec = SymbolSpec(
            product,
            window,
            InstrumentKind.ASIAN if asian else InstrumentKind.OPTION,
            kind,
            Decimal(strike_micros).scaleb(-6),
        )
    parsed = parse_symbol(spec.symbol)
    assert parsed.symbol == spec.symbol
    assert parsed.window == spec.window
    assert parsed.strike == spec.strike
