"""Wire types of the planned move of a product's books between shards."""

from __future__ import annotations

from typing import Annotated

import msgspec


class BookMoveIn(msgspec.Struct, forbid_unknown_fields=True):
    """``to``: the base URL of the live shard that takes the product's books (as ``GET
    /v1/instruments`` names owners)."""

    to: Annotated[str, msgspec.Meta(min_length=1, max_length=200, examples=["http://10.0.0.2:8000"])]


class BookMoveOut(msgspec.Struct):
    """Where the product's books are now: ``owner``, the base URL of the shard holding them."""

    product: str
    owner: str
