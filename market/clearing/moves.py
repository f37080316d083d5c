"""Large index moves: a clearing pass at once, not at the next scheduled one.

The lifecycle re-margins every hour and on the pass after a new fixing; a move large enough to eat an
account's margin should not even wait for that. A product's index **moved** when its latest fixing
differs by at least :data:`LARGE_MOVE_BPS` from its latest fixing as of the last pass (both current
revisions, by observation instant). 5% is the smallest move the portfolio scan sizes margins for (its
scan range floor, ``ln 1.05``): a move of that size can take a whole position's margin, so whoever
ingests such a fixing (``POST /v1/index/{product}/fixings``, ``flopex risk remargin --if-moved``) runs
a pass immediately.
"""

from __future__ import annotations

import sqlalchemy as sa

from market.tables import Fixing, MarginRequirement

LARGE_MOVE_BPS = 500
"""A move of the index this large (in basis points of its level at the last pass) triggers a pass."""

_fixings = Fixing.__table__
_requirements = MarginRequirement.__table__


def _level(connection: sa.Connection, product: str, until_us: int | None) -> int | None:
    query = sa.select(_fixings.c.price_micros).where(
        _fixings.c.product == product, _fixings.c.superseded_us.is_(None)
    )
    if until_us is not None:
        query = query.where(_fixings.c.at_us <= until_us)
    return connection.execute(query.order_by(_fixings.c.at_us.desc(), _fixings.c.id.desc()).limit(1)).scalar()


def moved(connection: sa.Connection, threshold_bps: int = LARGE_MOVE_BPS) -> tuple[str, ...]:
    """The products whose index moved by ``threshold_bps`` or more since the last pass (none before
    the first pass: nothing is margined by the portfolio rule yet)."""
    last_pass = connection.execute(sa.select(sa.func.max(_requirements.c.updated_us))).scalar()
    if last_pass is None:
        return ()
    products = connection.execute(
        sa.select(_requirements.c.product).distinct().order_by(_requirements.c.product)
    ).scalars()
    found = []
    for product in products:
        then, now = _level(connection, product, last_pass), _level(connection, product, None)
        if then and now and abs(now - then) * 10_000 >= threshold_bps * then:
            found.append(product)
    return tuple(found)
