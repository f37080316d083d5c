"""A product's lifecycle plan on the wire: what the roll keeps listed and how old its index may get."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Literal

import msgspec

from api.schemas.common import Request
from market.lifecycle.schedule import SeriesPlan

Months = Annotated[int, msgspec.Meta(ge=0, le=24)]
Weeks = Annotated[int, msgspec.Meta(ge=0, le=104)]
Days = Annotated[int, msgspec.Meta(ge=0, le=400)]
OptionMonths = Annotated[int, msgspec.Meta(ge=0, le=12)]
Strikes = Annotated[int, msgspec.Meta(ge=0, le=20)]
StepBps = Annotated[int, msgspec.Meta(ge=1, le=10_000)]
ExpiryDays = Annotated[int, msgspec.Meta(ge=0, le=20)]
FixingAgeHours = Annotated[int, msgspec.Meta(ge=1, le=24 * 366)]


class PlanOut(msgspec.Struct):
    """A product's plan: forwards kept listed ahead (``months``, ``weeks``, ``days``, settled
    ``settlement``), options on the next ``option_months`` months (``strikes`` each side of the mark,
    ``step_bps`` apart, European ones expiring ``expiry_business_days`` before delivery; European on cash
    products, Asian on physical ones), and ``max_fixing_age_hours`` before the index is flagged stale."""

    product: str
    settlement: str
    months: int
    weeks: int
    days: int
    option_months: int
    strikes: int
    step_bps: int
    expiry_business_days: int
    max_fixing_age_hours: int
    option_style: str

    @classmethod
    def of(cls, product: str, plan: SeriesPlan) -> PlanOut:
        return cls(product=product, option_style=plan.option_style, **dataclasses.asdict(plan))


class PlanChange(Request):
    """The fields to change; fields left out keep their current value."""

    settlement: Literal["physical", "cash"] | msgspec.UnsetType = msgspec.UNSET
    months: Months | msgspec.UnsetType = msgspec.UNSET
    weeks: Weeks | msgspec.UnsetType = msgspec.UNSET
    days: Days | msgspec.UnsetType = msgspec.UNSET
    option_months: OptionMonths | msgspec.UnsetType = msgspec.UNSET
    strikes: Strikes | msgspec.UnsetType = msgspec.UNSET
    step_bps: StepBps | msgspec.UnsetType = msgspec.UNSET
    expiry_business_days: ExpiryDays | msgspec.UnsetType = msgspec.UNSET
    max_fixing_age_hours: FixingAgeHours | msgspec.UnsetType = msgspec.UNSET

    def applied_to(self, plan: SeriesPlan) -> SeriesPlan:
        """``plan`` with the fields this change sets."""
        changes = {f: v for f in self.__struct_fields__ if (v := getattr(self, f)) is not msgspec.UNSET}
        return dataclasses.replace(plan, **changes)
