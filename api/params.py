"""Path parameters the controllers share.

Row ids in the path (listings, deliveries, hedges, pools) are the database's ``INTEGER`` keys: a
number past that range can name no row, and handed to PostgreSQL it would fail as out of range.
Bounding it at the edge answers such a request with a 400 naming the parameter, and documents the
range in the OpenAPI document, whatever the database.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar.params import PathParameter

MAX_ROW_ID = 2**31 - 1  # an INTEGER primary key (PostgreSQL int4; SQLite rowids fit well inside)


def row_id(what: str) -> Any:
    """The path parameter type of a ``what``'s id: an integer in ``[1, MAX_ROW_ID]``."""
    return Annotated[int, PathParameter(ge=1, le=MAX_ROW_ID, description=f"the {what}'s id")]
