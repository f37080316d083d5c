"""The market's invariants, checked against the database.

Each check is one query that returns the rows breaking it, so ``flopex admin check`` (and the tests,
after every step) can say exactly what is wrong:

* the ledger sums to zero, overall and per transfer; every balance equals the sum of its entries;
* no account bucket is negative;
* every order has ``filled + cancelled + open = qty`` and holds ``open x hold per lot``; closed orders
  hold nothing; each account's ``reserved`` equals what its orders hold, its ``margin`` what its
  positions hold;
* for every physical forward and provider ``sold + reserved <= listed``, ``sold`` equals the GPUs of
  its sell trades (resales aside) and ``reserved`` what its resting sells hold; per provider, product
  and day, listed capacity equals the listings covering the day and committed capacity the sold and
  offered GPUs of the forwards covering it (never above listed);
* positions equal the sum of trades, and net to zero per instrument; variation margin nets to zero
  per instrument (what holders received, writers paid); every position of a settled Asian option
  received exactly ``qty x payoff x GPU-hours - cost`` over its life (futures-style options,
  :mod:`market.contracts`; European ones are checked in the tests, as options exercised
  premium-style before futures-style margining keep their old record);
* escrow equals what is owed to providers (unreleased physical sales, then the delivery days still
  pending or disputed); each provider's collateral equals what its listings hold, never negative;
* the default fund equals the members' contributions, and the settlement account (the counterparty
  of variation margin and cash settlement) is short by exactly the losses no waterfall step covered;
* a one-cancels-other pair has two legs, and a leg is live beside a live partner exactly when it has
  neither traded nor triggered (a trade, trigger or close of one leg cancels the other in the same
  commit);
* every securitised pool's initial reserve and remittances equal what it paid out plus what its
  issuing account holds (:func:`market.securitization.reports.conservation`);
* every basket fund holds exactly its units' strip (:func:`market.baskets.funds.unbalanced`).
"""

from __future__ import annotations

import sqlalchemy as sa

from market.baskets.funds import unbalanced as unbalanced_funds
from market.delivery import OPEN_DAYS
from market.instruments import Instrument
from market.ledger import COLLATERAL, DEFAULT_FUND, MARGIN, RESERVED, SETTLEMENT, SYSTEM
from market.listings import whole_days
from market.securitization import reports as pools
from market.tables import (
    Balance,
    Capacity,
    Default,
    DeliveryDay,
    Entry,
    FundContribution,
    Inventory,
    Listing,
    Order,
    Position,
    Trade,
)
from market.tables import Instrument as InstrumentTable
from market.vocabulary import LIVE

_balances = Balance.__table__
_entries = Entry.__table__
_orders = Order.__table__
_positions = Position.__table__
_trades = Trade.__table__
_inventory = Inventory.__table__
_instruments = InstrumentTable.__table__


def _checks() -> list[tuple[str, sa.Select]]:
    e, b, o, p, t, inv, i = _entries, _balances, _orders, _positions, _trades, _inventory, _instruments
    f, d = FundContribution.__table__, Default.__table__
    entry_sums = (
        sa.select(e.c.owner, e.c.bucket, sa.func.sum(e.c.amount).label("total"))
        .group_by(e.c.owner, e.c.bucket)
        .subquery()
    )
    held = (
        sa.select(o.c.account_id, sa.func.sum(o.c.reserved_micros).label("held"))
        .group_by(o.c.account_id)
        .subquery()
    )
    margins = (
        sa.select(p.c.account_id, sa.func.sum(p.c.margin_micros).label("held"))
        .group_by(p.c.account_id)
        .subquery()
    )
    signed_qty = sa.case((t.c.buyer_id == p.c.account_id, t.c.qty), else_=0) - sa.case(
        (t.c.seller_id == p.c.account_id, t.c.qty), else_=0
    )
    signed_cost = sa.case((t.c.buyer_id == p.c.account_id, t.c.notional_micros), else_=0) - sa.case(
        (t.c.seller_id == p.c.account_id, t.c.notional_micros), else_=0
    )
    from_trades = (
        sa.select(
            p.c.account_id,
            p.c.symbol,
            p.c.qty,
            p.c.cost_micros,
            sa.func.coalesce(sa.func.sum(signed_qty), 0).label("trade_qty"),
            sa.func.coalesce(sa.func.sum(signed_cost), 0).label("trade_cost"),
        )
        .select_from(
            p.outerjoin(
                t,
                sa.and_(
                    t.c.symbol == p.c.symbol,
                    sa.or_(t.c.buyer_id == p.c.account_id, t.c.seller_id == p.c.account_id),
                ),
            )
        )
        .group_by(p.c.account_id, p.c.symbol, p.c.qty, p.c.cost_micros)
        .subquery()
    )
    sold = (
        sa.select(t.c.symbol, t.c.seller_id, sa.func.sum(t.c.qty * i.c.lot_gpus).label("gpus"))
        .join(i, i.c.symbol == t.c.symbol)
        .where(i.c.kind == "forward", i.c.settlement == "physical", ~t.c.resale)
        .group_by(t.c.symbol, t.c.seller_id)
        .subquery()
    )
    offered = (
        sa.select(o.c.symbol, o.c.account_id, sa.func.sum(o.c.reserved_gpus).label("gpus"))
        .group_by(o.c.symbol, o.c.account_id)
        .subquery()
    )
    escrow = sa.select(b.c.amount).where(b.c.owner == SYSTEM, b.c.bucket == "escrow").scalar_subquery()
    days, listed = DeliveryDay.__table__, Listing.__table__
    owed = (
        sa.select(sa.func.coalesce(sa.func.sum(t.c.escrow_micros), 0)).where(~t.c.released).scalar_subquery()
        + sa.select(sa.func.coalesce(sa.func.sum(days.c.escrow_micros), 0))
        .where(days.c.status.in_(OPEN_DAYS))
        .scalar_subquery()
    )
    posted = (
        sa.select(listed.c.provider_id, sa.func.sum(listed.c.collateral_micros).label("posted"))
        .group_by(listed.c.provider_id)
        .subquery()
    )
    fund = sa.select(b.c.amount).where(b.c.owner == SYSTEM, b.c.bucket == DEFAULT_FUND).scalar_subquery()
    contributed = sa.select(sa.func.coalesce(sa.func.sum(f.c.amount_micros), 0)).scalar_subquery()
    settled = sa.select(b.c.amount).where(b.c.owner == SYSTEM, b.c.bucket == SETTLEMENT).scalar_subquery()
    uncovered = sa.select(sa.func.coalesce(sa.func.sum(d.c.uncovered_micros), 0)).scalar_subquery()
    partner = o.alias("partner")
    untouched = sa.and_(o.c.filled == 0, ~o.c.triggered)
    return [
        (
            "a one-cancels-other pair does not have two legs",
            sa.select(o.c.link_id, sa.func.count())
            .where(o.c.link_id.is_not(None))
            .group_by(o.c.link_id)
            .having(sa.func.count() != 2),
        ),
        (
            "a live one-cancels-other leg and its partner disagree about the link (both live after a "
            "trade or trigger, or one left alone without either)",
            sa.select(o.c.id, o.c.link_id, o.c.filled, o.c.triggered, partner.c.status)
            .join(partner, sa.and_(partner.c.link_id == o.c.link_id, partner.c.id != o.c.id))
            .where(o.c.status.in_(LIVE), partner.c.status.in_(LIVE) != untouched),
        ),
        (
            "the ledger does not sum to zero",
            sa.select(sa.func.sum(e.c.amount)).having(sa.func.sum(e.c.amount) != 0),
        ),
        (
            "a transfer does not sum to zero",
            sa.select(e.c.transfer_id, sa.func.sum(e.c.amount))
            .group_by(e.c.transfer_id)
            .having(sa.func.sum(e.c.amount) != 0),
        ),
        (
            "a balance differs from the sum of its entries",
            sa.select(b.c.owner, b.c.bucket, b.c.amount, entry_sums.c.total)
            .select_from(
                b.outerjoin(
                    entry_sums, sa.and_(entry_sums.c.owner == b.c.owner, entry_sums.c.bucket == b.c.bucket)
                )
            )
            .where(b.c.amount != sa.func.coalesce(entry_sums.c.total, 0)),
        ),
        (
            "a balance is negative",
            sa.select(b.c.owner, b.c.bucket, b.c.amount).where(b.c.amount < 0, ~b.c.allow_negative),
        ),
        (
            "an order's filled + cancelled + open differs from its quantity",
            sa.select(o.c.id, o.c.qty, o.c.filled, o.c.cancelled, o.c.open_qty).where(
                sa.or_(
                    o.c.filled + o.c.cancelled + o.c.open_qty != o.c.qty,
                    o.c.filled < 0,
                    o.c.cancelled < 0,
                    o.c.open_qty < 0,
                )
            ),
        ),
        (
            "an order's hold differs from its open quantity times its hold per lot",
            sa.select(o.c.id, o.c.status, o.c.open_qty, o.c.reserved_micros).where(
                sa.or_(
                    o.c.reserved_micros != o.c.open_qty * o.c.reserve_per_lot,
                    sa.and_(o.c.status.not_in(("open", "partially_filled")), o.c.open_qty != 0),
                )
            ),
        ),
        (
            "an account's reserved cash differs from what its orders hold",
            sa.select(b.c.owner, b.c.amount, held.c.held)
            .select_from(b.outerjoin(held, held.c.account_id == b.c.owner))
            .where(b.c.bucket == RESERVED, b.c.amount != sa.func.coalesce(held.c.held, 0)),
        ),
        (
            "an account's margin differs from what its positions hold",
            sa.select(b.c.owner, b.c.amount, margins.c.held)
            .select_from(b.outerjoin(margins, margins.c.account_id == b.c.owner))
            .where(b.c.bucket == MARGIN, b.c.amount != sa.func.coalesce(margins.c.held, 0)),
        ),
        (
            "a provider's inventory is oversold",
            sa.select(inv).where(inv.c.sold_gpus + inv.c.reserved_gpus > inv.c.listed_gpus),
        ),
        (
            "a provider's sold inventory differs from its sell trades",
            sa.select(inv.c.symbol, inv.c.provider_id, inv.c.sold_gpus, sold.c.gpus)
            .select_from(
                inv.outerjoin(
                    sold, sa.and_(sold.c.symbol == inv.c.symbol, sold.c.seller_id == inv.c.provider_id)
                )
            )
            .where(inv.c.sold_gpus != sa.func.coalesce(sold.c.gpus, 0)),
        ),
        (
            "a provider's reserved inventory differs from its resting sells",
            sa.select(inv.c.symbol, inv.c.provider_id, inv.c.reserved_gpus, offered.c.gpus)
            .select_from(
                inv.outerjoin(
                    offered,
                    sa.and_(offered.c.symbol == inv.c.symbol, offered.c.account_id == inv.c.provider_id),
                )
            )
            .where(inv.c.reserved_gpus != sa.func.coalesce(offered.c.gpus, 0)),
        ),
        (
            "a position differs from the sum of its trades",
            sa.select(from_trades).where(
                sa.or_(
                    from_trades.c.qty != from_trades.c.trade_qty,
                    from_trades.c.cost_micros != from_trades.c.trade_cost,
                )
            ),
        ),
        (
            "positions in an instrument do not net to zero",
            sa.select(p.c.symbol, sa.func.sum(p.c.qty))
            .group_by(p.c.symbol)
            .having(sa.func.sum(p.c.qty) != 0),
        ),
        (
            "variation margin does not net to zero in an instrument",
            sa.select(p.c.symbol, sa.func.sum(p.c.variation_micros))
            .group_by(p.c.symbol)
            .having(sa.func.sum(p.c.variation_micros) != 0),
        ),
        ("escrow differs from what is owed to providers", sa.select(escrow, owed).where(escrow != owed)),
        (
            "a provider's collateral differs from what its listings hold",
            sa.select(b.c.owner, b.c.amount, posted.c.posted)
            .select_from(b.outerjoin(posted, posted.c.provider_id == b.c.owner))
            .where(b.c.bucket == COLLATERAL, b.c.amount != sa.func.coalesce(posted.c.posted, 0)),
        ),
        ("a listing's collateral is negative", sa.select(listed.c.id).where(listed.c.collateral_micros < 0)),
        (
            "the default fund differs from the members' contributions",
            sa.select(fund, contributed).where(fund != contributed),
        ),
        (
            "the settlement account is short of more than the uncovered defaults",
            sa.select(settled, uncovered).where(settled != -uncovered),
        ),
    ]


def _capacity_rows(connection: sa.Connection) -> list[tuple]:
    """Per-day capacity rows that differ from the listings and forwards covering their day."""
    listings, capacity, inventory, instruments = (
        Listing.__table__,
        Capacity.__table__,
        Inventory.__table__,
        InstrumentTable.__table__,
    )
    expected: dict[tuple[str, str, int], list[int]] = {}
    for row in connection.execute(sa.select(listings)):
        for day in whole_days(row.window_start_us, row.window_end_us):
            expected.setdefault((row.provider_id, row.product, day), [0, 0])[0] += row.gpus
    committed = sa.select(
        inventory.c.provider_id,
        instruments.c.product,
        instruments.c.window_start_us,
        instruments.c.window_end_us,
        (inventory.c.sold_gpus + inventory.c.reserved_gpus).label("gpus"),
    ).join(instruments, instruments.c.symbol == inventory.c.symbol)
    for row in connection.execute(committed):
        for day in whole_days(row.window_start_us, row.window_end_us):
            expected.setdefault((row.provider_id, row.product, day), [0, 0])[1] += row.gpus
    stored = {
        (r.provider_id, r.product, r.day_us): [r.listed_gpus, r.committed_gpus]
        for r in connection.execute(sa.select(capacity))
    }
    keys = set(expected) | set(stored)
    return sorted(
        (*key, stored.get(key, [0, 0]), expected.get(key, [0, 0]))
        for key in keys
        if stored.get(key, [0, 0]) != expected.get(key, [0, 0])
    )


def _option_rows(connection: sa.Connection) -> list[tuple]:
    """Positions of settled Asian options whose variation differs from ``qty x payoff x GPU-hours -
    cost`` (what futures-style margining pays over a life, :mod:`market.clearing.variation`)."""
    p, i = _positions, _instruments
    rows = connection.execute(
        sa.select(p, *(c for c in i.c if c.name != "symbol"))
        .join(i, i.c.symbol == p.c.symbol)
        .where(i.c.kind == "asian", i.c.status == "settled")
    ).mappings()
    wrong = []
    for row in rows:
        inst = Instrument.of(row)
        expected = row["qty"] * inst.payoff(row["settle_price_micros"]) * inst.gpu_hours - row["cost_micros"]
        if row["variation_micros"] != expected:
            wrong.append((row["account_id"], row["symbol"], row["variation_micros"], expected))
    return wrong


def check(connection: sa.Connection) -> list[str]:
    """Every breached invariant, as one line each naming the offending rows (empty when all hold)."""
    problems = []
    checks = [(name, connection.execute(query).all()) for name, query in _checks()]
    checks.append(
        ("a provider's per-day capacity differs from its listings and forwards", _capacity_rows(connection))
    )
    checks.append(("a settled option was not paid its payoff less its price", _option_rows(connection)))
    checks.append(("a pool's cash in differs from its cash paid out plus held", pools.unbalanced(connection)))
    checks.append(("a basket fund's strip differs from its units'", unbalanced_funds(connection)))
    for name, rows in checks:
        if rows:
            shown = "; ".join(str(tuple(r)) for r in rows[:5])
            more = f" (+{len(rows) - 5} more)" if len(rows) > 5 else ""
            problems.append(f"{name}: {shown}{more}")
    return problems
