"""The JSON pricing request: validation into the domain types, with errors that name the field.

A request is untrusted input (it arrives from the CLI and over HTTP), so every number is checked
for type, finiteness and range before any formula sees it, and every key must be known. The ranges
are generous for GPU-hour markets but bounded, so that no accepted request can overflow a formula
into NaN: times within 50 years, GBM volatilities up to 500 %, rates within +/-100 %. Mean-reverting
factors get the same budget on the variance they can reach rather than on their volatility: prices
fitted to hourly GPU rentals revert within hours (speeds in the thousands per year) with volatilities
far above 500 % that still leave a small stationary spread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pricing.instruments import (
    Asian,
    Bermudan,
    Cap,
    European,
    Forward,
    ForwardUnderlying,
    Instrument,
    SpotUnderlying,
    SwapUnderlying,
    Swing,
)
from pricing.models import (
    GBM,
    ArithmeticOU,
    JumpOU,
    Model,
    Schwartz1F,
    SchwartzSmith,
    Seasonality,
    SeasonalTerm,
)
from pricing.settings import Method, MonteCarloSettings

MAX_TIME = 50.0
"""Longest accepted horizon in years; keeps exp(drift * t) far from overflow."""
MAX_VOL = 5.0
MAX_RATE = 1.0
MAX_SPEED = 1e5
"""Fastest mean reversion per year: a half-life of about four minutes, below any price grid we see."""
MAX_LOG_VARIANCE = MAX_VOL**2 * MAX_TIME
"""Largest log-price variance any accepted model can reach within MAX_TIME (GBM at MAX_VOL for 50 y)."""
MAX_DRIFT = 10.0
"""Largest absolute drift of a long-run log level per year (Schwartz-Smith mu_xi)."""
MAX_LEVEL = 1e9
"""Largest accepted absolute price or strike (USD per GPU-hour is a few dollars)."""
MAX_LOG_LEVEL = 20.0
"""Largest accepted absolute log-price factor (e^20 is about 5e8)."""
MIN_PERIOD = 1.0 / 8760.0
"""Shortest seasonal period (one hour): shorter cycles are below the market's resolution."""
MAX_FIXINGS = 10_000
"""Most fixings in one schedule: an hourly year (8,760) fits."""
MAX_PATHS = 100_000_000
MAX_STEPS_PER_YEAR = 100_000

METHODS: tuple[Method, ...] = ("auto", "analytic", "mc", "quantlib")
_MISSING: Any = object()


class RequestError(ValueError):
    """An invalid pricing request: ``path`` names the field (``instrument.strike``), ``reason`` says
    what is wrong and what would work. ``code`` is stable for clients to branch on."""

    code = "invalid_request"

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        """Rebuild from (path, reason), so the error crosses ``price_many``'s process boundary."""
        return type(self), (self.path, self.reason)


class NotComputableError(RequestError):
    """A well-formed request that cannot be valued accurately: Monte Carlo whose error bar would not
    be trustworthy (tails it cannot sample, infinite variance), a floating-point overflow, a
    quasi-random grid beyond its dimension. Refused rather than answered with a confident wrong
    number; ``path`` names the input to change. (HTTP: 422 with code ``not_computable``.)"""

    code = "not_computable"


@dataclass(frozen=True)
class PricingRequest:
    """A validated request: what to value, under which model, and how."""

    model: Model
    instrument: Instrument
    rate: float
    method: Method
    mc: MonteCarloSettings
    greeks: bool


class _Fields:
    """Reads the keys of one JSON object, tracking its path and rejecting unknown keys."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, dict):
            raise RequestError(path or "request", f"must be an object, got {_kind(data)}")
        self.data: dict[str, Any] = data
        self.path = path
        self.seen: set[str] = set()

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        self.seen.add(key)
        if key in self.data:
            return self.data[key]
        if default is _MISSING:
            raise RequestError(self.at(key), "is required")
        return default

    def number(
        self,
        key: str,
        default: Any = _MISSING,
        *,
        low: float | None = None,
        high: float | None = None,
        positive: bool = False,
    ) -> float:
        """A finite number within [low, high] (and > 0 when ``positive``)."""
        value = _number(self.raw(key, default), self.at(key))
        too_low = (positive and value <= 0.0) or (low is not None and value < low)
        if too_low or (high is not None and value > high):
            raise RequestError(self.at(key), f"must be {_range(low, high, positive)}, got {value:g}")
        return value

    def integer(self, key: str, default: Any = _MISSING, *, low: int, high: int) -> int:
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int):  # 1e7 and 4000.0 are floats in JSON
            reason = f"must be a whole number as a JSON integer (no point, no exponent), got {_kind(value)}"
            raise RequestError(self.at(key), reason)
        if not low <= value <= high:
            raise RequestError(self.at(key), f"must be between {low} and {high}, got {value}")
        return value

    def choice(self, key: str, options: tuple[str, ...], default: Any = _MISSING) -> Any:
        value = self.raw(key, default)
        if value not in options:
            listed = ", ".join(f'"{o}"' for o in options)
            raise RequestError(self.at(key), f"must be one of {listed}, got {value!r}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise RequestError(self.at(key), f"must be true or false, got {_kind(value)}")
        return value

    def done(self) -> None:
        """Reject keys that were never read: a typo must not silently fall back to a default."""
        unknown = sorted(set(self.data) - self.seen, key=str)
        if unknown:
            known = ", ".join(sorted(self.seen))
            raise RequestError(self.at(str(unknown[0])), f"unknown key; known keys here: {known}")


def _kind(value: object) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", str: "a string", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )


def _range(low: float | None, high: float | None, positive: bool) -> str:
    if positive:
        return "positive" + (f" and at most {high:g}" if high is not None else "")
    if low is not None and high is not None:
        return f"between {low:g} and {high:g}"
    return f"at least {low:g}" if low is not None else f"at most {high:g}"


def _number(value: object, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RequestError(path, f"must be a number, got {_kind(value)}")
    result = float(value) if not isinstance(value, int) or abs(value) < 1e300 else math.inf
    if not math.isfinite(result):
        raise RequestError(path, f"must be a finite number, got {value!r}")
    return result


def parse_request(data: object) -> PricingRequest:
    """Validate a JSON pricing request; raises RequestError naming the first bad field."""
    fields = _Fields(data, "")
    model = parse_model(fields.raw("model"), "model")
    instrument = parse_instrument(fields.raw("instrument"), "instrument")
    rate = fields.number("rate", 0.0, low=-MAX_RATE, high=MAX_RATE)
    method: Method = fields.choice("method", METHODS, "auto")
    mc = _parse_mc(fields.raw("mc", {}), "mc")
    greeks = fields.boolean("greeks", False)
    fields.done()
    _check_combination(model, instrument)
    return PricingRequest(model, instrument, rate, method, mc, greeks)


def _check_combination(model: Model, instrument: Instrument) -> None:
    if (
        isinstance(model, ArithmeticOU)
        and isinstance(instrument, Asian)
        and instrument.average == "geometric"
    ):
        raise RequestError(
            "instrument.average",
            "a geometric average needs positive prices and arithmetic_ou prices can be negative: "
            'use "arithmetic"',
        )


# --- models -------------------------------------------------------------------------------------

MODEL_CLASSES: dict[str, type] = {
    "gbm": GBM,
    "schwartz1f": Schwartz1F,
    "schwartz_smith": SchwartzSmith,
    "arithmetic_ou": ArithmeticOU,
    "jump_ou": JumpOU,
}
MODEL_TYPES = tuple(MODEL_CLASSES)


def parse_model(data: object, path: str) -> Model:
    """Validate a MODEL object (see docs/pricing.md for the parameters of each type)."""
    f = _Fields(data, path)
    kind = f.choice("type", MODEL_TYPES)
    model: Model
    if kind == "gbm":
        model = GBM(
            spot=f.number("spot", positive=True, high=MAX_LEVEL),
            vol=f.number("vol", positive=True, high=MAX_VOL),
            carry=f.number("carry", 0.0, low=-MAX_RATE, high=MAX_RATE),
        )
    elif kind == "schwartz1f":
        model = Schwartz1F(
            spot=f.number("spot", positive=True, high=MAX_LEVEL),
            kappa=(kappa := f.number("kappa", positive=True, high=MAX_SPEED)),
            alpha=f.number("alpha", low=-MAX_LOG_LEVEL, high=MAX_LOG_LEVEL),
            vol=_reverting_vol(f, "vol", kappa),
        )
    elif kind == "schwartz_smith":
        model = SchwartzSmith(
            chi0=f.number("chi0", low=-MAX_LOG_LEVEL, high=MAX_LOG_LEVEL),
            xi0=f.number("xi0", low=-MAX_LOG_LEVEL, high=MAX_LOG_LEVEL),
            kappa=(kappa := f.number("kappa", positive=True, high=MAX_SPEED)),
            sigma_chi=_reverting_vol(f, "sigma_chi", kappa),
            lambda_chi=f.number("lambda_chi", 0.0, low=-MAX_LOG_LEVEL, high=MAX_LOG_LEVEL),
            mu_xi=f.number("mu_xi", low=-MAX_DRIFT, high=MAX_DRIFT),
            sigma_xi=f.number("sigma_xi", low=0.0, high=MAX_VOL),
            rho=f.number("rho", low=-1.0, high=1.0),
        )
    elif kind == "arithmetic_ou":
        model = ArithmeticOU(
            x0=f.number("x0", low=-MAX_LEVEL, high=MAX_LEVEL),
            kappa=f.number("kappa", positive=True, high=MAX_SPEED),
            vol=f.number("vol", positive=True, high=MAX_LEVEL),
            seasonality=_parse_seasonality(f, MAX_LEVEL),
        )
    else:
        model = JumpOU(
            x0=f.number("x0", low=-MAX_LOG_LEVEL, high=MAX_LOG_LEVEL),
            kappa=(kappa := f.number("kappa", positive=True, high=MAX_SPEED)),
            vol=_reverting_vol(f, "vol", kappa),
            y0=f.number("y0", 0.0, low=-MAX_LOG_LEVEL, high=MAX_LOG_LEVEL),
            jump_rate=f.number("jump_rate", low=0.0, high=1000.0),
            jump_mean=_jump_mean(f),
            jump_reversion=f.number("jump_reversion", positive=True, high=MAX_SPEED),
            seasonality=_parse_seasonality(f, MAX_LOG_LEVEL),
        )
    f.done()
    return model


def _reverting_vol(f: _Fields, key: str, kappa: float) -> float:
    """The volatility of a log factor reverting at ``kappa``, held to the MAX_LOG_VARIANCE budget.

    Its variance after t years is vol^2 (1 - exp(-2 kappa t)) / (2 kappa), largest at MAX_TIME.
    """
    reach = -math.expm1(-2.0 * kappa * MAX_TIME) / (2.0 * kappa)
    limit = math.sqrt(MAX_LOG_VARIANCE / reach)
    value = f.number(key, positive=True)
    if value > limit:
        raise RequestError(
            f.at(key),
            f"must be at most {limit:.4g} with kappa {kappa:g}, so the log-price variance stays within "
            f"{MAX_LOG_VARIANCE:g}; got {value:g}",
        )
    return value


def _jump_mean(f: _Fields) -> float:
    value = f.number("jump_mean", positive=True)
    if value >= 1.0:
        raise RequestError(
            f.at("jump_mean"),
            f"must be below 1 (a log-price jump) so that E[exp(J)] is finite, got {value:g}",
        )
    return value


def _parse_seasonality(f: _Fields, level: float) -> Seasonality:
    data = f.raw("seasonality", None)
    if data is None:
        return Seasonality()
    s = _Fields(data, f.at("seasonality"))
    terms_data = s.raw("terms", [])
    if not isinstance(terms_data, list):
        raise RequestError(s.at("terms"), f"must be a list of terms, got {_kind(terms_data)}")
    terms = []
    for i, term_data in enumerate(terms_data):
        t = _Fields(term_data, f"{s.at('terms')}[{i}]")
        terms.append(
            SeasonalTerm(
                amplitude=t.number("amplitude", low=-level, high=level),
                period=t.number("period", low=MIN_PERIOD, high=MAX_TIME),
                phase=t.number("phase", 0.0, low=-MAX_TIME, high=MAX_TIME),
            )
        )
        t.done()
    result = Seasonality(
        mean=s.number("mean", 0.0, low=-level, high=level),
        trend=s.number("trend", 0.0, low=-level / MAX_TIME, high=level / MAX_TIME),
        terms=tuple(terms),
    )
    s.done()
    return result


# --- instruments --------------------------------------------------------------------------------

INSTRUMENT_TYPES = ("forward", "european", "asian", "cap", "bermudan", "swing")
KINDS = ("call", "put")


def parse_fixings(data: object, path: str, *, positive: bool = False) -> tuple[float, ...]:
    """A strictly increasing list of times, or ``{"start", "end", "count"}`` evenly spaced."""
    if isinstance(data, dict):
        f = _Fields(data, path)
        start = f.number("start", low=0.0, high=MAX_TIME)
        end = f.number("end", low=0.0, high=MAX_TIME)
        count = f.integer("count", low=1, high=MAX_FIXINGS)
        f.done()
        if count > 1 and not end > start:
            raise RequestError(f"{path}.end", f"must be after start ({start:g}) when count > 1")
        if count == 1:
            times: tuple[float, ...] = (end,)
        else:
            step = (end - start) / (count - 1)
            times = (*tuple(start + i * step for i in range(count - 1)), end)
        if count > 1 and len(set(times)) < count:
            raise RequestError(f"{path}.count", "is too large for the window: fixings would coincide")
    elif isinstance(data, list):
        if not data:
            raise RequestError(path, "must hold at least one time")
        if len(data) > MAX_FIXINGS:
            raise RequestError(path, f"must hold at most {MAX_FIXINGS} times, got {len(data)}")
        times = tuple(_number(t, f"{path}[{i}]") for i, t in enumerate(data))
        for i, t in enumerate(times):
            if not 0.0 <= t <= MAX_TIME:
                raise RequestError(f"{path}[{i}]", f"must be between 0 and {MAX_TIME:g} years, got {t:g}")
            if i and t <= times[i - 1]:
                raise RequestError(
                    f"{path}[{i}]", f"times must be strictly increasing: {t:g} follows {times[i - 1]:g}"
                )
    else:
        raise RequestError(path, f'must be a list of times or {{"start", "end", "count"}}, got {_kind(data)}')
    if positive and times[0] <= 0.0:
        raise RequestError(path, "exercise times must be after the valuation instant (> 0)")
    return times


def parse_instrument(data: object, path: str) -> Instrument:
    """Validate an INSTRUMENT object."""
    f = _Fields(data, path)
    kind = f.choice("type", INSTRUMENT_TYPES)
    instrument: Instrument
    if kind == "forward":
        fixings = parse_fixings(f.raw("fixings"), f.at("fixings"))
        instrument = Forward(fixings, _strike(f, 0.0), _payment(f, fixings))
    elif kind == "european":
        option = f.choice("kind", KINDS)
        strike = _strike(f)
        expiry = f.number("expiry", positive=True, high=MAX_TIME)
        instrument = European(option, strike, expiry, _underlying(f, expiry))
    elif kind == "asian":
        option, strike = f.choice("kind", KINDS), _strike(f)
        fixings = parse_fixings(f.raw("fixings"), f.at("fixings"))
        average = f.choice("average", ("arithmetic", "geometric"), "arithmetic")
        instrument = Asian(option, strike, fixings, average, _payment(f, fixings))
    elif kind == "cap":
        option, strike = f.choice("kind", KINDS), _strike(f)
        instrument = Cap(option, strike, parse_fixings(f.raw("fixings"), f.at("fixings")))
    elif kind == "bermudan":
        option, strike = f.choice("kind", KINDS), _strike(f)
        instrument = Bermudan(
            option, strike, parse_fixings(f.raw("exercise"), f.at("exercise"), positive=True)
        )
    else:
        instrument = _swing(f)
    f.done()
    return instrument


def _strike(f: _Fields, default: Any = _MISSING) -> float:
    return f.number("strike", default, low=-MAX_LEVEL, high=MAX_LEVEL)


def _payment(f: _Fields, fixings: tuple[float, ...]) -> float:
    payment = f.number("payment", fixings[-1], low=0.0, high=MAX_TIME)
    if payment < fixings[-1]:
        raise RequestError(
            f.at("payment"),
            f"must not precede the last fixing ({fixings[-1]:g}): the payoff is known only then",
        )
    return payment


def _underlying(f: _Fields, expiry: float) -> SpotUnderlying | ForwardUnderlying | SwapUnderlying:
    data = f.raw("underlying", "spot")
    path = f.at("underlying")
    if data == "spot":
        return SpotUnderlying()
    if not isinstance(data, dict):
        raise RequestError(path, f'must be "spot", {{"forward": T}} or {{"swap": FIXINGS}}, got {data!r}')
    u = _Fields(data, path)
    if len(data) != 1 or next(iter(data)) not in ("forward", "swap"):
        raise RequestError(path, 'must hold exactly one key: "forward" (a maturity) or "swap" (fixings)')
    if "forward" in data:
        maturity = u.number("forward", low=0.0, high=MAX_TIME)
        if maturity < expiry:
            raise RequestError(u.at("forward"), f"maturity must not precede the expiry ({expiry:g})")
        return ForwardUnderlying(maturity)
    fixings = parse_fixings(u.raw("swap"), u.at("swap"))
    if fixings[0] < expiry:
        raise RequestError(u.at("swap"), f"every fixing must be at or after the expiry ({expiry:g})")
    return SwapUnderlying(fixings)


def _swing(f: _Fields) -> Swing:
    option, strike = f.choice("kind", KINDS), _strike(f)
    exercise = parse_fixings(f.raw("exercise"), f.at("exercise"), positive=True)
    max_rights = f.integer("max_rights", low=1, high=len(exercise))
    min_rights = f.integer("min_rights", 0, low=0, high=max_rights)
    payoff = f.choice("payoff", ("forward", "vanilla"), "forward")
    return Swing(option, strike, exercise, min_rights, max_rights, payoff)


def _parse_mc(data: object, path: str) -> MonteCarloSettings:
    f = _Fields(data, path)
    steps = f.raw("steps_per_year", None)
    settings = MonteCarloSettings(
        paths=f.integer("paths", MonteCarloSettings.paths, low=2, high=MAX_PATHS),
        seed=f.integer("seed", 0, low=0, high=2**63 - 1),
        antithetic=f.boolean("antithetic", True),
        control_variate=f.boolean("control_variate", True),
        sampler=f.choice("sampler", ("sobol", "pseudo"), "sobol"),
        steps_per_year=None if steps is None else f.integer("steps_per_year", low=1, high=MAX_STEPS_PER_YEAR),
    )
    f.done()
    return settings
