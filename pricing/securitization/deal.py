"""The deal description: a small JSON format, decoded strictly with msgspec, errors naming the field.

A deal is untrusted input (a file for the CLI, a body over HTTP). msgspec checks every type and
bound and rejects unknown keys; :func:`parse_deal` turns its messages into :class:`DealError` with the
same ``path: reason`` shape as pricing requests (``tranches[1].coupon``, ``assets[0].forwards[2].end``)
and then checks what a schema cannot: cross references, lengths that must equal the number of
periods, forward sales that exceed the capacity they are sold from, the index model (validated by
:func:`pricing.request.parse_model`, so its errors read ``index.model.vol``).

Units: money in USD, prices in USD per GPU-hour, rates and intensities per year, times in periods
of ``period_months`` months (a month is 730 hours, 1/12 of an ACT/365F year).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from pricing.models import Model
from pricing.request import MAX_TIME, RequestError, parse_model

MAX_PERIODS = 600
"""Longest deal: 50 years of monthly periods."""
MAX_MONEY = 1e12
"""Largest amount of money in a deal (USD)."""
MAX_PRICE = 1e4
"""Largest price per GPU-hour (the market trades a few dollars)."""
MAX_GPUS = 10_000_000
MAX_ITEMS = 10_000
"""Most providers, assets, forward sales per asset or tranches' quotes in one deal."""
MAX_TRANCHES = 20
HOURS_PER_MONTH = 730.0

Name = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Money = Annotated[float, Meta(ge=0.0, le=MAX_MONEY)]
Fraction = Annotated[float, Meta(ge=0.0, le=1.0)]
Rate = Annotated[float, Meta(ge=-1.0, le=1.0)]
UnitPrice = Annotated[float, Meta(ge=0.0, le=MAX_PRICE)]
Gpus = Annotated[int, Meta(ge=0, le=MAX_GPUS)]
Period = Annotated[int, Meta(ge=0, le=MAX_PERIODS)]


class _Spec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Base of every part of a deal: immutable, unknown keys refused."""


class ForwardSale(_Spec):
    """``gpus`` of the asset sold forward at ``price`` per GPU-hour for periods ``start`` .. ``end - 1``."""

    gpus: Annotated[int, Meta(ge=1, le=MAX_GPUS)]
    price: UnitPrice
    start: Period
    end: Period


class Asset(_Spec):
    """One line of capacity: a provider's GPUs of one product in one region.

    ``gpus`` is the installed count, one number for the whole deal or one per period. What is not
    sold forward is sold at ``price_ratio`` times the pool index, times the utilisation. ``opex`` is
    the operating cost (power, colocation, servicing) per installed GPU-hour, sold or idle.
    """

    provider: Name
    product: Name
    region: Name
    gpus: Gpus | Annotated[tuple[Gpus, ...], Meta(min_length=1, max_length=MAX_PERIODS)]
    opex: UnitPrice = 0.0
    price_ratio: Annotated[float, Meta(gt=0.0, le=100.0)] = 1.0
    forwards: Annotated[tuple[ForwardSale, ...], Meta(max_length=MAX_ITEMS)] = msgspec.field(
        default_factory=tuple
    )


class Provider(_Spec):
    """A provider that may fail to deliver: a default at ``default_intensity`` per year, after which
    its capacity earns ``recovery`` times what it would have (the backup servicer's share)."""

    name: Name
    default_intensity: Annotated[float, Meta(ge=0.0, le=10.0)] = 0.0
    recovery: Fraction = 0.0


class Index(_Spec):
    """The index price the unsold capacity earns: a MODEL (docs/pricing.md) or a fixed path, one
    price per period (a deterministic scenario)."""

    model: dict[str, Any] | None = None
    path: Annotated[tuple[UnitPrice, ...], Meta(max_length=MAX_PERIODS)] | None = None


class Utilisation(_Spec):
    """Share of unsold capacity that rents: expit(logit(mean) + X), X an OU process from 0 with
    ``speed`` per year and volatility ``vol`` (0: the utilisation is ``mean`` throughout)."""

    mean: Fraction = 1.0
    speed: Annotated[float, Meta(gt=0.0, le=1000.0)] = 4.0
    vol: Annotated[float, Meta(ge=0.0, le=10.0)] = 0.0


class Generation(_Spec):
    """Hardware generations: shocks arrive at ``rate`` per year and each lowers the index level by
    ``size`` (a fraction) from the next period on."""

    rate: Annotated[float, Meta(ge=0.0, le=10.0)] = 0.0
    size: Annotated[float, Meta(ge=0.0, lt=1.0)] = 0.0


class Defaults(_Spec):
    """Provider defaults: independent (``correlation`` 0) or one-factor Gaussian (Vasicek): provider
    i defaults by t when sqrt(rho) Z + sqrt(1 - rho) e_i < N^-1(1 - exp(-lambda_i t))."""

    correlation: Annotated[float, Meta(ge=0.0, lt=1.0)] = 0.0


class Tranche(_Spec):
    """A note: ``face`` in USD, fixed ``coupon`` per year on its balance, optional coverage triggers.

    ``oc_trigger``: the run-rate collateral value over the balance of this and all senior notes must
    stay at or above it; ``ic_trigger``: the period's collections after fees over the interest due on
    this and all senior notes. A breach diverts the cash left after this note's interest to repay the
    senior notes."""

    name: Name
    face: Annotated[float, Meta(gt=0.0, le=MAX_MONEY)]
    coupon: Annotated[float, Meta(ge=0.0, le=1.0)] = 0.0
    oc_trigger: Annotated[float, Meta(gt=0.0, le=100.0)] | None = None
    ic_trigger: Annotated[float, Meta(gt=0.0, le=100.0)] | None = None


class Fees(_Spec):
    """Senior fees (trustee, servicer): ``fixed`` per period plus ``rate`` per year on the notes."""

    fixed: Money = 0.0
    rate: Annotated[float, Meta(ge=0.0, le=1.0)] = 0.0


class Reserve(_Spec):
    """A cash reserve funded with ``initial`` at closing, topped up to ``target`` from collections, drawn
    to pay fees and interest, released at the final period."""

    initial: Money = 0.0
    target: Money = 0.0


class Discount(_Spec):
    """The discount curve: flat ``rate``, or zero rates ``curve`` [[t, r], ...] (years, continuous
    compounding; linear in between, flat outside), plus ``spread``."""

    rate: Rate = 0.0
    curve: Annotated[
        tuple[tuple[Annotated[float, Meta(ge=0.0, le=MAX_TIME)], Rate], ...], Meta(max_length=1000)
    ] = msgspec.field(default_factory=tuple)
    spread: Rate = 0.0


class Scenarios(_Spec):
    """The stresses of the scenario table: a generation shock lowering the index by
    ``generation_drop`` from period ``generation_period``; a utilisation slump lowering the mean
    utilisation by ``utilisation_drop``; the largest provider defaulting in the first period."""

    generation_drop: Annotated[float, Meta(ge=0.0, lt=1.0)] = 0.3
    generation_period: Period = 6
    utilisation_drop: Fraction = 0.3


class MonteCarlo(_Spec):
    """Paths, seed, and index fixings per period (the period's price is their average)."""

    paths: Annotated[int, Meta(ge=1, le=10_000_000)] = 10_000
    seed: Annotated[int, Meta(ge=0, le=2**63 - 1)] = 0
    fixings_per_period: Annotated[int, Meta(ge=1, le=744)] = 4


class DealSpec(_Spec):
    """A whole deal (docs/securitization.md): the pool, its risks, the notes and the waterfall."""

    periods: Annotated[int, Meta(ge=1, le=MAX_PERIODS)]
    index: Index
    providers: Annotated[tuple[Provider, ...], Meta(min_length=1, max_length=MAX_ITEMS)]
    assets: Annotated[tuple[Asset, ...], Meta(min_length=1, max_length=MAX_ITEMS)]
    tranches: Annotated[tuple[Tranche, ...], Meta(min_length=1, max_length=MAX_TRANCHES)]
    name: Annotated[str, Meta(max_length=200)] = "deal"
    period_months: Annotated[int, Meta(ge=1, le=12)] = 1
    utilisation: Utilisation = msgspec.field(default_factory=Utilisation)
    generation: Generation = msgspec.field(default_factory=Generation)
    defaults: Defaults = msgspec.field(default_factory=Defaults)
    fees: Fees = msgspec.field(default_factory=Fees)
    reserve: Reserve = msgspec.field(default_factory=Reserve)
    principal: Literal["sequential", "pro_rata"] = "sequential"
    amortisation: Literal["linear", "bullet"] = "linear"
    discount: Discount = msgspec.field(default_factory=Discount)
    quotes: Annotated[
        dict[Name, Annotated[float, Meta(gt=0.0, le=1000.0)]], Meta(max_length=MAX_TRANCHES)
    ] = {}
    scenarios: Scenarios = msgspec.field(default_factory=Scenarios)
    mc: MonteCarlo = msgspec.field(default_factory=MonteCarlo)


class DealError(RequestError):
    """An invalid deal: ``path`` names the field (``tranches[1].coupon``), ``reason`` what is wrong."""


@dataclass(frozen=True)
class Deal:
    """A validated deal: the spec and its index model (None when the index is a fixed path)."""

    spec: DealSpec
    model: Model | None

    @property
    def dt(self) -> float:
        """Length of a period in years."""
        return self.spec.period_months / 12.0

    @property
    def hours(self) -> float:
        """GPU-hours one GPU delivers in a period."""
        return self.spec.period_months * HOURS_PER_MONTH


_AT = re.compile(r"^(?P<reason>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_FIELD = re.compile(r"^Object (?P<what>missing required|contains unknown) field `(?P<field>[^`]+)`$")


def _error_from(exc: msgspec.ValidationError) -> DealError:
    """msgspec's ``Expected ... - at `$.a[0].b``` as ``DealError("a[0].b", ...)``."""
    match = _AT.match(str(exc))
    assert match is not None
    reason, path = match["reason"], (match["path"] or "").lstrip(".")
    field = _FIELD.match(reason)
    if field:
        path = f"{path}.{field['field']}" if path else field["field"]
        reason = "is required" if field["what"] == "missing required" else "unknown key"
    return DealError(path or "deal", reason)


def decode_spec(data: bytes | str) -> DealSpec:
    """Decode JSON text into a spec, strictly (types, bounds, known keys only); no cross-field checks."""
    try:
        return msgspec.json.decode(data, type=DealSpec, strict=True)
    except msgspec.ValidationError as exc:
        raise _error_from(exc) from None
    except msgspec.DecodeError as exc:
        raise DealError("deal", f"is not valid JSON: {exc}") from None


def decode_deal(data: bytes | str) -> Deal:
    """Validate a deal from JSON text."""
    return check_deal(decode_spec(data))


def spec_of(data: object) -> DealSpec:
    """Convert decoded JSON (dicts and lists) into a spec, strictly; no cross-field checks."""
    try:
        return msgspec.convert(data, DealSpec, strict=True)
    except msgspec.ValidationError as exc:
        raise _error_from(exc) from None


def parse_deal(data: object) -> Deal:
    """Validate a deal from decoded JSON (or a spec); raises DealError naming the first bad field."""
    return check_deal(data if isinstance(data, DealSpec) else spec_of(data))


def check_deal(spec: DealSpec) -> Deal:
    """The checks a schema cannot express; returns the deal with its index model."""
    n = spec.periods
    if n * spec.period_months / 12.0 > MAX_TIME:
        raise DealError("periods", f"the deal must end within {MAX_TIME:g} years")
    providers = [p.name for p in spec.providers]
    _unique(providers, "providers", "name")
    _unique([t.name for t in spec.tranches], "tranches", "name")
    for i, asset in enumerate(spec.assets):
        _check_asset(asset, f"assets[{i}]", n, set(providers))
    model = _check_index(spec.index, n)
    for name in spec.quotes:
        if name not in {t.name for t in spec.tranches}:
            raise DealError(f"quotes.{name}", "names no tranche")
    times = [t for t, _ in spec.discount.curve]
    for i in range(1, len(times)):
        if times[i] <= times[i - 1]:
            raise DealError(f"discount.curve[{i}]", "times must be strictly increasing")
    if spec.discount.curve and spec.discount.rate != 0.0:
        raise DealError("discount.rate", "give either a flat rate or a curve, not both")
    if spec.reserve.initial > spec.reserve.target and spec.reserve.target > 0.0:
        raise DealError("reserve.initial", "must not exceed the target")
    return Deal(spec, model)


def _unique(names: list[str], path: str, key: str) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise DealError(f"{path}[{i}].{key}", f"duplicate name {name!r}")
        seen.add(name)


def _check_asset(asset: Asset, path: str, periods: int, providers: set[str]) -> None:
    if asset.provider not in providers:
        raise DealError(f"{path}.provider", f"names no provider: {asset.provider!r}")
    if isinstance(asset.gpus, tuple) and len(asset.gpus) != periods:
        raise DealError(f"{path}.gpus", f"must hold one count per period ({periods}), got {len(asset.gpus)}")
    sold = [0] * periods
    for j, sale in enumerate(asset.forwards):
        at = f"{path}.forwards[{j}]"
        if not sale.start < sale.end <= periods:
            raise DealError(f"{at}.end", f"must be after start ({sale.start}) and at most {periods}")
        for t in range(sale.start, sale.end):
            sold[t] += sale.gpus
            capacity = asset.gpus[t] if isinstance(asset.gpus, tuple) else asset.gpus
            if sold[t] > capacity:
                raise DealError(
                    f"{at}.gpus",
                    f"forward sales of period {t} total {sold[t]} GPUs, above the {capacity} installed",
                )


def _check_index(index: Index, periods: int) -> Model | None:
    if (index.model is None) == (index.path is None):
        raise DealError(
            "index", 'give exactly one of "model" (a MODEL object) or "path" (a price per period)'
        )
    if index.path is not None:
        if len(index.path) != periods:
            raise DealError(
                "index.path", f"must hold one price per period ({periods}), got {len(index.path)}"
            )
        return None
    try:
        return parse_model(index.model, "index.model")
    except RequestError as exc:
        raise DealError(exc.path, exc.reason) from None
