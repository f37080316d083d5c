"""Physical delivery: who delivers to whom, the access handle, and the escrow released day by day.

**Allocation** (:func:`allocate`, run by settlement at delivery start). Delivery follows whoever holds
a net long position at that instant -- the first buyer or whoever it resold to. The net short
providers deliver, each from its listings covering the window, best fit first (shortest listing
window, then oldest), each listing giving what it has not yet delivered on any day of the window to
an overlapping forward. Every buyer then receives from every supplying listing **in proportion to
its share of the supply** (largest remainders rounded by the buyers with the most left over, then by
account id): no account id, arrival order or size gets better providers than another, and a
provider's failure falls on its buyers in proportion to what they hold. Each (buyer, listing) pair
is one delivery record carrying the provider, region, GPUs, window and, once attached, the access
handle.

**Escrow.** What buyers paid for a provider's sales (notional less the provider's fee) moves from
the trades to the delivery records: a provider that bought back part of what it sold is paid that
part at once (it delivers to itself), the rest is shared over its records by GPUs and over each
record's UTC days evenly (remainders on the last day). Each day is then settled on its own:

* ``confirmed`` by the buyer, or ``accepted`` when undisputed :data:`DISPUTE_WINDOW_US` after the
  day ends (or when an admin rejects a dispute): the day's escrow is paid to the provider;
* ``disputed`` by the buyer (from the day's start until the window closes): escrow is held until an
  admin upholds or rejects the dispute;
* ``failed`` (no access handle by :data:`HANDLE_GRACE_US` after the day starts) or ``upheld``: the
  day's escrow is refunded to the buyer and the provider's performance collateral pays the buyer
  the product's collateral per GPU-day for each GPU of the record (at most what the listing still
  holds).

**Collateral.** A provider posts ``gpus x whole days x collateral_per_gpu_day`` of its product when
it lists (:func:`post_collateral`), gets the part of GPUs it withdraws back in proportion, and the
rest once the listing's window and dispute windows are over and none of its days is open.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from market.errors import (
    DeliveryDayClosedError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
)
from market.instruments import Instrument
from market.ledger import AVAILABLE, COLLATERAL, ESCROW, SYSTEM
from market.listings import DAY_US, whole_days
from market.records import DeliveryDayInfo, DeliveryInfo, DeliveryReport, record_of
from market.tables import Delivery, DeliveryAccess, DeliveryDay, Listing, Position, Product, Trade

if TYPE_CHECKING:
    from market.house import House
    from market.store import UnitOfWork

HOUR_US = 3_600_000_000
HANDLE_GRACE_US = 4 * HOUR_US
"""A day whose delivery has no access handle this long after the day starts fails."""
DISPUTE_WINDOW_US = 24 * HOUR_US
"""A buyer may confirm or dispute a day from its start until this long after its end."""
OPEN_DAYS = ("pending", "disputed")  # days whose escrow is still held
PAID = ("confirmed", "accepted")  # escrow went to the provider
REFUNDED = ("failed", "upheld")  # escrow went back to the buyer, with collateral

_deliveries = Delivery.__table__
_days = DeliveryDay.__table__
_listings = Listing.__table__
_positions = Position.__table__
_trades = Trade.__table__
_products = Product.__table__
_access = DeliveryAccess.__table__


# ---------------------------------------------------------------------------- allocation


def _free_listings(connection: sa.Connection, provider_id: str, inst: Instrument) -> list[tuple[int, int]]:
    """The provider's listings that can deliver ``inst``, best fit first, with their GPUs not yet
    delivered on any day of its window (overlapping forwards draw on the same listings)."""
    start, end = inst.window_start_us, inst.window_end_us
    candidates = connection.execute(
        sa.select(_listings.c.id, _listings.c.gpus)
        .where(
            _listings.c.provider_id == provider_id,
            _listings.c.product == inst.product,
            _listings.c.window_start_us <= start,
            _listings.c.window_end_us >= end,
        )
        .order_by(_listings.c.window_end_us - _listings.c.window_start_us, _listings.c.id)
    ).all()
    delivered = connection.execute(
        sa.select(
            _deliveries.c.listing_id,
            _deliveries.c.gpus,
            _deliveries.c.window_start_us,
            _deliveries.c.window_end_us,
        ).where(
            _deliveries.c.listing_id.in_([c.id for c in candidates]),
            _deliveries.c.window_start_us < end,
            _deliveries.c.window_end_us > start,
        )
    ).all()
    free = []
    for candidate in candidates:
        busiest = max(
            (
                sum(
                    d.gpus
                    for d in delivered
                    if d.listing_id == candidate.id and d.window_start_us <= day < d.window_end_us
                )
                for day in whole_days(start, end)
            ),
            default=0,
        )
        free.append((candidate.id, candidate.gpus - busiest))
    return free


def pro_rata(demand: list[tuple[str, int]], supply: list[tuple[object, int]]) -> list[tuple[int, int, int]]:
    """Split ``demand`` (who, GPUs) over ``supply`` (what, GPUs) in proportion: returns
    ``(demand index, supply index, GPUs)`` cells whose row and column sums match both sides (as far
    as the smaller total goes). Floors first; what they leave goes, supply in order, to the rows
    left most short (then in the given order)."""
    total = max(sum(g for _, g in demand), sum(g for _, g in supply))
    if not total:
        return []
    cells = {(b, s): gb * gs // total for b, (_, gb) in enumerate(demand) for s, (_, gs) in enumerate(supply)}
    row_left = [gb - sum(cells[b, s] for s in range(len(supply))) for b, (_, gb) in enumerate(demand)]
    col_left = [gs - sum(cells[b, s] for b in range(len(demand))) for s, (_, gs) in enumerate(supply)]
    rows = sorted(range(len(demand)), key=lambda b: (-row_left[b], b))
    i = s = 0
    while i < len(rows) and s < len(supply):  # the north-west corner over what the floors left
        b = rows[i]
        take = min(row_left[b], col_left[s])
        cells[b, s] += take
        row_left[b] -= take
        col_left[s] -= take
        i += row_left[b] == 0
        s += col_left[s] == 0
    return [(b, s, g) for (b, s), g in sorted(cells.items()) if g]


def _shares(total: int, weights: list[int]) -> list[int]:
    """``total`` split by ``weights`` exactly (cumulative rounding down; the last share takes the rest)."""
    whole = sum(weights)
    if not whole:
        return [0] * len(weights)
    out, done, before = [], 0, 0
    for weight in weights:
        done += weight
        upto = total * done // whole
        out.append(upto - before)
        before = upto
    return out


@dataclass(frozen=True)
class Allocation:
    """What allocating a physical forward comes to (:func:`plan`): the delivery records (each with its
    escrow share, and the handle attached ahead of the window if there is one), the escrow paid at once
    to providers (``paid``: GPUs they bought back, or nothing left to deliver to) and the trades whose
    escrow it moves."""

    records: list[dict]
    paid: dict[str, int]
    trade_ids: list[int]


def plan(connection: sa.Connection, inst: Instrument, now_us: int) -> Allocation:
    """Allocate ``inst`` as it would be if trading closed now (see the module docstring); writes
    nothing, so it also previews an upcoming delivery (:mod:`market.handoff`)."""
    symbol, lot = inst.symbol, inst.lot_gpus
    net = dict(
        connection.execute(
            sa.select(_positions.c.account_id, _positions.c.qty).where(_positions.c.symbol == symbol)
        ).all()
    )
    owed = connection.execute(
        sa.select(_trades.c.id, _trades.c.seller_id, _trades.c.escrow_micros, _trades.c.qty).where(
            _trades.c.symbol == symbol, ~_trades.c.released, ~_trades.c.resale
        )
    ).all()
    escrow: dict[str, int] = defaultdict(int)
    sold: dict[str, int] = defaultdict(int)
    for trade in owed:
        escrow[trade.seller_id] += trade.escrow_micros
        sold[trade.seller_id] += trade.qty * lot
    region = connection.execute(
        sa.select(_products.c.region).where(_products.c.id == inst.product)
    ).scalar_one_or_none()
    supply: list[tuple[tuple[str, int], int]] = []
    kept: dict[str, int] = {}
    paid: dict[str, int] = {}
    for provider in sorted(escrow):
        delivers = max(0, -net.get(provider, 0) * lot)
        kept[provider] = escrow[provider] * delivers // sold[provider] if sold[provider] else 0
        paid[provider] = escrow[provider] - kept[provider]
        for listing_id, free in _free_listings(connection, provider, inst):
            take = min(delivers, free)
            if take > 0:
                supply.append(((provider, listing_id), take))
                delivers -= take
    demand = sorted(((a, q * lot) for a, q in net.items() if q > 0), key=lambda d: d[0])
    listing_ids = {listing_id for (_, listing_id), _ in supply}
    regions = dict(
        connection.execute(
            sa.select(_listings.c.id, _listings.c.region).where(_listings.c.id.in_(listing_ids))
        ).all()
    )
    ahead = {
        row.listing_id: row
        for row in connection.execute(
            sa.select(_access).where(_access.c.symbol == symbol, _access.c.listing_id.in_(listing_ids))
        )
    }
    deadline = inst.window_start_us + HANDLE_GRACE_US
    records = []
    for b, s, gpus in pro_rata(demand, supply):
        (provider, listing_id), handle = supply[s][0], ahead.get(supply[s][0][1])
        records.append(
            {
                "symbol": symbol,
                "buyer_id": demand[b][0],
                "provider_id": provider,
                "listing_id": listing_id,
                "gpus": gpus,
                "window_start_us": inst.window_start_us,
                "window_end_us": inst.window_end_us,
                "created_us": now_us,
                "region": regions.get(listing_id) or region,
                "escrow_micros": 0,
                "access_handle": None if handle is None else handle.access_handle,
                "endpoint": None if handle is None else handle.endpoint,
                "handle_us": None if handle is None else handle.attached_us,
                "alert": None
                if handle is not None
                else f"attach an access handle before {_iso(deadline)} or the first day fails",
            }
        )
    for provider in kept:
        mine = [r for r in records if r["provider_id"] == provider]
        for record, share in zip(mine, _shares(kept[provider], [r["gpus"] for r in mine]), strict=True):
            record["escrow_micros"] = share
        if not mine:  # nothing to deliver to (cannot happen while positions net to zero): pay it out
            paid[provider] += kept[provider]
    return Allocation(records, paid, [t.id for t in owed])


def allocate(uow: UnitOfWork, inst: Instrument) -> list[int]:
    """Allocate a physical forward at delivery start and move its escrow onto delivery days (see the
    module docstring); returns the ids of the delivery records."""
    found = plan(uow.connection, inst, uow.now_us)
    connection = uow.connection
    for provider, amount in found.paid.items():
        uow.ledger.move((SYSTEM, ESCROW), (provider, AVAILABLE), amount)
    uow.ledger.post("delivery_start", ref=inst.symbol)
    if found.trade_ids:
        connection.execute(_trades.update().where(_trades.c.id.in_(found.trade_ids)).values(released=True))
    if not found.records:
        return []
    ids = (
        connection.execute(
            _deliveries.insert().returning(_deliveries.c.id, sort_by_parameter_order=True), found.records
        )
        .scalars()
        .all()
    )
    days = whole_days(inst.window_start_us, inst.window_end_us)
    rows = []
    for delivery_id, record in zip(ids, found.records, strict=True):
        for day, share in zip(days, _shares(record["escrow_micros"], [1] * len(days)), strict=True):
            rows.append(
                {
                    "delivery_id": delivery_id,
                    "day_us": day,
                    "escrow_micros": share,
                    "status": "pending",
                    "reason": None,
                    "collateral_micros": 0,
                    "decided_us": None,
                }
            )
    connection.execute(_days.insert(), rows)
    return list(ids)


def _iso(us: int) -> str:
    from market.units import from_epoch_us

    return from_epoch_us(us).strftime("%Y-%m-%dT%H:%MZ")


# ---------------------------------------------------------------------------- collateral


def collateral_rate(connection: sa.Connection, product: str) -> int:
    """The product's performance collateral per GPU-day, in micro-dollars."""
    return connection.execute(
        sa.select(_products.c.collateral_per_gpu_day_micros).where(_products.c.id == product)
    ).scalar_one()


def post_collateral(uow: UnitOfWork, listing: dict) -> int:
    """Take the listing's collateral (``gpus x whole days x rate``) from the provider's available cash
    into its collateral bucket; ``insufficient_funds`` when it cannot pay. Returns the amount."""
    days = len(whole_days(listing["window_start_us"], listing["window_end_us"]))
    amount = listing["gpus"] * days * collateral_rate(uow.connection, listing["product"])
    provider = listing["provider_id"]
    uow.ledger.move((provider, AVAILABLE), (provider, COLLATERAL), amount, "the listing's collateral")
    uow.ledger.post("collateral", account_id=provider, ref=f"listing-{listing['id']}")
    uow.connection.execute(
        _listings.update().where(_listings.c.id == listing["id"]).values(collateral_micros=amount)
    )
    return amount


def release_collateral(uow: UnitOfWork, listing: dict, removed_gpus: int | None) -> int:
    """Give back the collateral of ``removed_gpus`` of the listing's GPUs (None: all of it), in
    proportion to the GPUs it had; returns the amount."""
    held = listing["collateral_micros"]
    amount = (
        held
        if removed_gpus is None or removed_gpus >= listing["gpus"]
        else (held * removed_gpus // listing["gpus"] if listing["gpus"] else 0)
    )
    provider = listing["provider_id"]
    uow.ledger.move((provider, COLLATERAL), (provider, AVAILABLE), amount)
    uow.ledger.post("collateral_release", account_id=provider, ref=f"listing-{listing['id']}")
    listing["collateral_micros"] = held - amount
    uow.connection.execute(
        _listings.update().where(_listings.c.id == listing["id"]).values(collateral_micros=held - amount)
    )
    return amount


# ---------------------------------------------------------------------------- the days


def _delivery_row(connection: sa.Connection, delivery_id: int) -> dict:
    row = connection.execute(sa.select(_deliveries).where(_deliveries.c.id == delivery_id)).one_or_none()
    if row is None:
        raise NotFoundError(f"no delivery {delivery_id}", field="delivery_id")
    return dict(row._mapping)


def _day_row(connection: sa.Connection, delivery_id: int, day_us: int) -> dict:
    row = connection.execute(
        sa.select(_days).where(_days.c.delivery_id == delivery_id, _days.c.day_us == day_us)
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"delivery {delivery_id} has no day starting at that instant", field="day")
    return dict(row._mapping)


def _decide(uow: UnitOfWork, delivery: dict, day: dict, status: str, reason: str | None) -> None:
    """Close a day: pay its escrow to the provider (``confirmed``, ``accepted``) or refund it to the
    buyer with a collateral charge (``failed``, ``upheld``)."""
    provider, buyer = delivery["provider_id"], delivery["buyer_id"]
    charge = 0
    if status in PAID:
        uow.ledger.move((SYSTEM, ESCROW), (provider, AVAILABLE), day["escrow_micros"])
    else:
        uow.ledger.move((SYSTEM, ESCROW), (buyer, AVAILABLE), day["escrow_micros"])
        listing = dict(
            uow.connection.execute(sa.select(_listings).where(_listings.c.id == delivery["listing_id"]))
            .one()
            ._mapping
        )
        rate = collateral_rate(uow.connection, listing["product"])
        charge = min(listing["collateral_micros"], rate * delivery["gpus"])
        uow.ledger.move((provider, COLLATERAL), (buyer, AVAILABLE), charge)
        uow.connection.execute(
            _listings.update()
            .where(_listings.c.id == listing["id"])
            .values(collateral_micros=listing["collateral_micros"] - charge)
        )
    uow.ledger.post(f"delivery_{status}", account_id=buyer, ref=f"delivery-{delivery['id']}")
    uow.connection.execute(
        _days.update()
        .where(_days.c.delivery_id == delivery["id"], _days.c.day_us == day["day_us"])
        .values(status=status, reason=reason, collateral_micros=charge, decided_us=uow.now_us)
    )


def delivery(house: House, account_id: str, delivery_id: int) -> DeliveryInfo:
    """One delivery of the account (as buyer or provider) with its days; another's is ``not_found``."""
    with house.read() as connection:
        row = _delivery_row(connection, delivery_id)
        if account_id not in (row["buyer_id"], row["provider_id"]):
            raise NotFoundError(f"no delivery {delivery_id}", field="delivery_id")
        return delivery_info(connection, row)


def delivery_info(connection: sa.Connection, row: dict) -> DeliveryInfo:
    """The record of a delivery row with its days."""
    days = connection.execute(
        sa.select(_days).where(_days.c.delivery_id == row["id"]).order_by(_days.c.day_us)
    ).mappings()
    return record_of(DeliveryInfo, row, days=tuple(record_of(DeliveryDayInfo, d) for d in days))


def check_handle(handle: str, endpoint: str | None) -> tuple[str, str | None]:
    """An access handle (1-500 characters) and optional endpoint (1-200), stripped."""
    if not isinstance(handle, str) or not 0 < len(handle.strip()) <= 500:
        raise InvalidRequestError("an access handle is 1-500 characters", field="handle")
    if endpoint is not None and (not isinstance(endpoint, str) or not 0 < len(endpoint.strip()) <= 200):
        raise InvalidRequestError("an endpoint is 1-200 characters", field="endpoint")
    return handle.strip(), None if endpoint is None else endpoint.strip()


def attach_access(
    house: House, provider_id: str, delivery_id: int, handle: str, endpoint: str | None = None
) -> DeliveryInfo:
    """Attach (or replace) the access handle and endpoint of one of the provider's deliveries; clears
    its alert. Days whose grace period passed without a handle stay failed; the handle serves the
    rest. (Before the window, :func:`market.handoff.attach_ahead` attaches per listing and forward.)"""
    handle, endpoint = check_handle(handle, endpoint)
    with house.transaction() as uow:
        row = _delivery_row(uow.connection, delivery_id)
        if row["provider_id"] != provider_id:
            if row["buyer_id"] == provider_id:
                raise ForbiddenError("only the delivering provider attaches the access handle")
            raise NotFoundError(f"no delivery {delivery_id}", field="delivery_id")
        if uow.now_us >= row["window_end_us"]:
            raise DeliveryDayClosedError(f"delivery {delivery_id}'s window is over")
        values = {"access_handle": handle, "endpoint": endpoint, "handle_us": uow.now_us, "alert": None}
        uow.connection.execute(_deliveries.update().where(_deliveries.c.id == delivery_id).values(**values))
        row.update(values)
        return delivery_info(uow.connection, row)


def _buyer_day(uow: UnitOfWork, buyer_id: str, delivery_id: int, day_us: int) -> tuple[dict, dict]:
    row = _delivery_row(uow.connection, delivery_id)
    if row["buyer_id"] != buyer_id:
        if row["provider_id"] == buyer_id:
            raise ForbiddenError("only the buyer confirms or disputes a delivery day")
        raise NotFoundError(f"no delivery {delivery_id}", field="delivery_id")
    day = _day_row(uow.connection, delivery_id, day_us)
    if day["status"] != "pending":
        raise DeliveryDayClosedError(f"that day is already {day['status']}", field="day")
    if uow.now_us < day_us:
        raise DeliveryDayClosedError("that day has not started yet", field="day")
    if uow.now_us >= day_us + DAY_US + DISPUTE_WINDOW_US:
        raise DeliveryDayClosedError("that day's window to confirm or dispute is over", field="day")
    return row, day


def confirm_day(house: House, buyer_id: str, delivery_id: int, day_us: int) -> DeliveryInfo:
    """The buyer confirms a day was delivered: its escrow is paid to the provider."""
    with house.transaction() as uow:
        row, day = _buyer_day(uow, buyer_id, delivery_id, day_us)
        _decide(uow, row, day, "confirmed", None)
        return delivery_info(uow.connection, row)


def dispute_day(house: House, buyer_id: str, delivery_id: int, day_us: int, reason: str) -> DeliveryInfo:
    """The buyer disputes a day: its escrow stays held until an admin decides."""
    if not isinstance(reason, str) or not 0 < len(reason.strip()) <= 200:
        raise InvalidRequestError("a dispute gives a reason of 1-200 characters", field="reason")
    with house.transaction() as uow:
        row, _ = _buyer_day(uow, buyer_id, delivery_id, day_us)
        uow.connection.execute(
            _days.update()
            .where(_days.c.delivery_id == delivery_id, _days.c.day_us == day_us)
            .values(status="disputed", reason=reason.strip())
        )
        return delivery_info(uow.connection, row)


def resolve_dispute(house: House, delivery_id: int, day_us: int, uphold: bool) -> DeliveryInfo:
    """An admin decides a disputed day: upheld refunds the buyer and charges the provider's
    collateral; rejected pays the provider."""
    with house.transaction() as uow:
        row = _delivery_row(uow.connection, delivery_id)
        day = _day_row(uow.connection, delivery_id, day_us)
        if day["status"] != "disputed":
            raise DeliveryDayClosedError(f"that day is {day['status']}, not disputed", field="day")
        _decide(uow, row, day, "upheld" if uphold else "accepted", day["reason"])
        return delivery_info(uow.connection, row)


def run_deliveries(house: House) -> DeliveryReport:
    """The lifecycle's delivery duty: fail the days that had no access handle by their grace
    deadline, accept the days left undisputed past their window, and release the collateral of
    listings whose windows are over with no day open."""
    with house.transaction() as uow:
        now = uow.now_us
        pending = (
            uow.connection.execute(
                sa.select(
                    _days,
                    _deliveries.c.buyer_id,
                    _deliveries.c.provider_id,
                    _deliveries.c.listing_id,
                    _deliveries.c.gpus,
                    _deliveries.c.handle_us,
                )
                .join(_deliveries, _deliveries.c.id == _days.c.delivery_id)
                .where(_days.c.status == "pending", _days.c.day_us + HANDLE_GRACE_US <= now)
                .order_by(_days.c.delivery_id, _days.c.day_us)
            )
            .mappings()
            .all()
        )
        failed = accepted = 0
        changed: set[int] = set()
        for found in pending:
            row = dict(found)
            delivery_row = {**row, "id": row["delivery_id"]}
            deadline = row["day_us"] + HANDLE_GRACE_US
            if row["handle_us"] is None or row["handle_us"] > deadline:
                _decide(uow, delivery_row, row, "failed", "no access handle by " + _iso(deadline))
                failed += 1
                changed.add(row["delivery_id"])
            elif now >= row["day_us"] + DAY_US + DISPUTE_WINDOW_US:
                _decide(uow, delivery_row, row, "accepted", "not disputed in time")
                accepted += 1
                changed.add(row["delivery_id"])
        open_listings = (
            sa.select(_deliveries.c.listing_id)
            .join(_days, _days.c.delivery_id == _deliveries.c.id)
            .where(_days.c.status.in_(OPEN_DAYS))
        )
        done = (
            uow.connection.execute(
                sa.select(_listings).where(
                    _listings.c.collateral_micros > 0,
                    _listings.c.window_end_us + DISPUTE_WINDOW_US <= now,
                    _listings.c.id.not_in(open_listings),
                )
            )
            .mappings()
            .all()
        )
        released = sum(release_collateral(uow, dict(listing), None) for listing in done)
    return DeliveryReport(failed, accepted, released, tuple(sorted(changed)))
