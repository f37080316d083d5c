"""Field types and structs shared by several resources."""

from __future__ import annotations

import dataclasses
import typing
from datetime import datetime
from typing import Annotated, Any

import msgspec

from market.instruments import PRODUCT_PATTERN
from market.units import micros_to_dollars, micros_to_price

MAX_QUANTITY = 1_000_000_000
"""Largest quantity (GPUs, lots) accepted anywhere: far beyond any real order, far inside int64."""

Price = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[0-9]{1,9}(\.[0-9]{1,6})?$",
        description="USD per GPU-hour as a decimal string (a whole number of the instrument's ticks)",
        examples=["2.450"],
    ),
]
Money = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[0-9]{1,12}(\.[0-9]{1,6})?$",
        description="USD as a decimal string, at most six decimals",
        examples=["10000.00"],
    ),
]
Quantity = Annotated[int, msgspec.Meta(ge=1, le=MAX_QUANTITY, description="a positive whole number")]
Symbol = Annotated[
    str, msgspec.Meta(pattern=r"^[A-Z0-9][A-Z0-9.\-]{0,63}$", max_length=64, examples=["H100-2027-01"])
]
ProductId = Annotated[str, msgspec.Meta(pattern=PRODUCT_PATTERN, examples=["H100"])]
"""The exchange's own rule (``market.instruments.PRODUCT_PATTERN``), so the schema promises no more."""
Instant = Annotated[datetime, msgspec.Meta(tz=True, description="RFC 3339 timestamp with a UTC offset")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Region = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


class Request(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request body: unknown fields are an error, not silently dropped."""


class FieldError(msgspec.Struct):
    """One invalid field: its path in the request and why it was refused."""

    field: str
    reason: str


class Problem(msgspec.Struct, omit_defaults=True):
    """An RFC 9457 problem (``application/problem+json``); branch on ``code``, never on ``detail``."""

    type: str
    title: str
    status: int
    code: str
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None


GREEK_DIGITS = 6
"""Significant digits of every Greek the API returns (the model's own precision is far coarser)."""


def rounded_greeks(greeks: dict[str, float] | None) -> dict[str, float] | None:
    """Greeks to :data:`GREEK_DIGITS` significant digits: ``1.0000000000043552`` is ``1.0``."""
    if greeks is None:
        return None
    return {name: float(f"{value:.{GREEK_DIGITS}g}") for name, value in greeks.items()}


def price_or_none(micros: int | None) -> str | None:
    """Micro-dollars per GPU-hour as a price string, passing ``None`` through."""
    return None if micros is None else micros_to_price(micros)


def mirror(
    record: type, name: str, module: str, doc: str, dollars: tuple[str, ...] = ()
) -> type[msgspec.Struct]:
    """The response struct ``name`` of a resource whose market record (a frozen dataclass) already has
    the wire's shape: the record's fields in its order, each required (a tuple goes out as a list),
    and ``of(record)`` copying them. ``dollars`` names money fields ``x_micros`` (micro-dollars) that go
    out as ``x``, a decimal string of USD (:func:`market.units.micros_to_dollars`). The fields are
    written once, in the record; a resource whose wire shape differs otherwise (decimal prices, renamed
    fields) keeps a struct of its own."""
    hints = typing.get_type_hints(record)
    names = [f.name for f in dataclasses.fields(record)]
    wire = {n: n.removesuffix("_micros") if n in dollars else n for n in names}

    def out(field: str, value: Any) -> Any:
        return micros_to_dollars(value) if field in dollars else value

    def of(cls: type[msgspec.Struct], value: Any) -> msgspec.Struct:
        return cls(**{wire[n]: out(n, getattr(value, n)) for n in names})

    return msgspec.defstruct(
        name,
        [(wire[n], str if n in dollars else _as_listed(hints[n])) for n in names],
        module=module,
        namespace={"__doc__": doc, "of": classmethod(of)},
    )


def _as_listed(hint: Any) -> Any:
    """``list[X]`` for a record's ``tuple[X, ...]`` (what msgspec writes and the schema promises)."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) is tuple and len(args) == 2 and args[1] is Ellipsis:
        return list[args[0]]  # type: ignore[valid-type]
    return hint
