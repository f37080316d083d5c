"""Delivery handoff: access handles, disputes and their resolution."""

from __future__ import annotations

from typing import Annotated

import msgspec

from api.schemas.common import Request
from market.records import DeliveryReport
from market.units import micros_to_dollars


class AccessAttach(Request):
    """How the buyer reaches the GPUs (an SSH endpoint, a console URL, a token reference)."""

    handle: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


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
