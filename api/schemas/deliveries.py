"""Delivery handoff: access handles, disputes and their resolution."""

from __future__ import annotations

from typing import Annotated

import msgspec

from api.schemas.common import Request, mirror
from market.records import AccessAhead, DeliveryReport, UpcomingDelivery
from market.units import micros_to_dollars


class AccessAttach(Request):
    """How the buyer reaches the GPUs (an SSH endpoint, a console URL, a token reference)."""

    handle: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    endpoint: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None


class AccessAheadCreate(AccessAttach, kw_only=True):
    """The handle (and endpoint) for what the listing delivers in the physical forward ``symbol``."""

    symbol: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


AccessAheadOut = mirror(
    AccessAhead,
    "AccessAheadOut",
    __name__,
    "A handle attached ahead of a forward's window; delivery records copy it at delivery start.",
)

UpcomingDeliveryOut = mirror(
    UpcomingDelivery,
    "UpcomingDeliveryOut",
    __name__,
    """A delivery as allocation would make it if trading closed now (provisional until the window
    starts): provider, region, GPUs, window, the escrow owed (USD) and the handle attached ahead.""",
    dollars=("escrow_micros",),
)


class DisputeCreate(Request):
    """Why the day was not delivered as sold."""

    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class DisputeResolve(Request):
    """``uphold``: refund the buyer and charge the provider's collateral; otherwise pay the provider."""

    uphold: bool


class DeliveryReportOut(msgspec.Struct):
    """What one run of the delivery duty did."""

    failed: int
    accepted: int
    collateral_released: str

    @classmethod
    def of(cls, report: DeliveryReport) -> DeliveryReportOut:
        return cls(report.failed, report.accepted, micros_to_dollars(report.collateral_released_micros))
