"""Product configuration and the timing of the lifecycle's duties.

A product's :class:`SeriesPlan` says what the roll keeps listed (the next ``months`` months, ``weeks``
ISO weeks and ``days`` days of forwards, settled ``physical`` or in ``cash``), which options it writes
(a strike grid of ``strikes`` each side of the mark, ``step_bps`` apart, on the next ``option_months``
month forwards whose options can still trade: European options on cash-settled products, Asian
options on physical ones) and how old the product's index may get before its marks are flagged stale
(``max_fixing_age_hours``). A product without a stored plan follows :data:`DEFAULT_PLAN`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from datetime import datetime

import sqlalchemy as sa

from market.errors import InvalidRequestError
from market.tables import Product

US_PER_HOUR = 3_600_000_000
US_PER_MINUTE = 60_000_000
STYLES = ("european", "asian")


@dataclass(frozen=True)
class SeriesPlan:
    """What the lifecycle keeps listed for one product (see the module docstring)."""

    settlement: str = "physical"
    months: int = 3
    weeks: int = 6
    days: int = 14
    option_months: int = 2
    strikes: int = 2
    step_bps: int = 1000
    expiry_business_days: int = 2
    max_fixing_age_hours: int = 48

    def __post_init__(self) -> None:
        if self.settlement not in ("physical", "cash"):
            raise InvalidRequestError("settlement must be physical or cash", field="settlement")
        bounds = {
            "months": 24,
            "weeks": 104,
            "days": 400,
            "option_months": 12,
            "strikes": 20,
            "step_bps": 10_000,
            "expiry_business_days": 20,
            "max_fixing_age_hours": 24 * 366,
        }
        for name, top in bounds.items():
            value = getattr(self, name)
            if type(value) is not int or not 0 <= value <= top:
                raise InvalidRequestError(f"{name} must be a whole number from 0 to {top}", field=name)
        if self.step_bps == 0 or self.max_fixing_age_hours == 0:
            raise InvalidRequestError("step_bps and max_fixing_age_hours must be positive", field="step_bps")

    @property
    def option_style(self) -> str:
        """European options are exercised into cash forwards; physical products carry Asian options."""
        return "european" if self.settlement == "cash" else "asian"

    def to_json(self) -> str:
        """The stored form (the ``products.schedule`` column)."""
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> SeriesPlan:
        """The plan stored as ``text``; the default plan when nothing is stored."""
        if text is None:
            return DEFAULT_PLAN
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in json.loads(text).items() if k in known})


DEFAULT_PLAN = SeriesPlan()


def stored_plan(connection: sa.Connection, product: str) -> SeriesPlan:
    """The plan stored for ``product`` (the default when none is, or the product does not exist)."""
    products = Product.__table__
    return SeriesPlan.from_json(
        connection.execute(sa.select(products.c.schedule).where(products.c.id == product)).scalar()
    )


def next_hour(now_us: int) -> int:
    """The first whole UTC hour strictly after ``now_us``."""
    return (now_us // US_PER_HOUR + 1) * US_PER_HOUR


def backoff_us(failures: int) -> int:
    """How long a failing duty waits before its next attempt: 30 s doubling per failure, at most 1 h."""
    return min(30_000_000 * 2 ** max(failures - 1, 0), US_PER_HOUR)


def is_stale(last_fixing: datetime | None, now: datetime, plan: SeriesPlan) -> bool:
    """Whether an index whose last fixing is ``last_fixing`` is older than the plan allows at ``now``."""
    if last_fixing is None:
        return False  # no index at all is "no mark", not a stale one
    return (now - last_fixing).total_seconds() > plan.max_fixing_age_hours * 3600
