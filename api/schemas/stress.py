"""``POST /v1/stress``: one death-spiral lab run over HTTP (docs/stress.md)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec


class StressRequest(msgspec.Struct, forbid_unknown_fields=True):
    """A shipped scenario, optional changes to it (the fields of a scenario file, nested sections
    merging: e.g. ``{"population": {"leverage": 8}}``) and a seed."""

    scenario: Annotated[
        str, msgspec.Meta(max_length=40, examples=["generation-shock"], description="a shipped scenario")
    ] = "generation-shock"
    changes: Annotated[dict[str, Any], msgspec.Meta(examples=[{"population": {"leverage": 8}}])] = {}
    seed: Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)] = 0


class StressResult(msgspec.Struct):
    """The run's metrics against its control (null where a measure is undefined, e.g. no basket
    quotes), its size and how long it took."""

    scenario: str
    seed: int
    steps: int
    agents: int
    metrics: dict[str, float | None]
    elapsed_ms: float
