"""Delivery handoff: access handles, disputes and their resolution."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from api.schemas.common import Request
from market.records import AccessAhead, DeliveryReport, UpcomingDelivery
from market.units import micros_to_dollars


class AccessAttach(Request):
    """How the buyer reaches the GPUs (an SSH endpoint, a console URL, a token reference)."""

    handle: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    endpoint: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None


class AccessAheadCreate(AccessAttach, kw_only=True):
    """The handle (and endpoint) for what the listing delivers in the physical forward ``symbol``."""

    symbol: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class AccessAheadOut(msgspec.Struct):
    """A handle attached ahead of a forward's window; delivery records copy it at delivery start."""

    listing_id: int
    symbol: str
    access_handle: str
    endpoint: str | None
    attached_at: datetime

    @classmethod
    def of(cls, access: AccessAhead) -> AccessAheadOut:
        a = access
        return cls(a.listing_id, a.symbol, a.access_handle, a.endpoint, a.attached_at)


class UpcomingDeliveryOut(msgspec.Struct):
    """A delivery as allocation would make it if trading closed now (provisional until the window
    starts): provider, region, GPUs, window, the escrow owed (USD) and the handle attached ahead."""

    symbol: str
    buyer_id: str
    provider_id: str
    listing_id: int
    gpus: int
    window_start: datetime
    window_end: datetime
    region: str | None
    escrow: str
    access_handle: str | None
    endpoint: str | None
    alert: str | None

    @classmethod
    def of(cls, item: UpcomingDelivery) -> UpcomingDeliveryOut:
        return cls(
            item.symbol,
            item.buyer_id,
            item.provider_id,
            item.listing_id,
            item.gpus,
            item.window_start,
            item.window_end,
            item.region,
            micros_to_dollars(item.escrow_micros),
            item.access_handle,
            item.endpoint,
            item.alert,
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
