"""One re-margining pass: marks, variation margin, portfolio margin, calls, liquidation, the fund.

:func:`run` does, in the caller's transaction (so a crash leaves either the whole pass or none of it):

1. marks every margined instrument not yet settled and refreshes its per-instrument margin (what new
   orders hold);
2. pays variation margin on every cash-forward and option position (:mod:`market.clearing.variation`);
3. for every account with margined positions: its portfolio margin per product
   (:mod:`market.clearing.portfolio`), held as far as its cash goes, and its margin call reviewed
   (:mod:`market.clearing.calls`);
4. liquidates the accounts whose call is past its deadline (:mod:`market.clearing.liquidation`) and
   re-margins them;
5. resizes the default fund (Cover 1, :mod:`market.clearing.waterfall`) among the members that can
   default (a basket fund's account, a fully funded long strip, cannot:
   :func:`market.baskets.funds.fund_accounts`);
6. runs every shortfall of step 2 through the waterfall.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa

from market.baskets.funds import fund_accounts
from market.clearing import calls, liquidation, outbox, portfolio, variation, waterfall
from market.clearing.valuation import Mark, ProductVol, exposure, mark, product_vol
from market.instruments import Instrument
from market.marks import margin_per_lot
from market.store import UnitOfWork
from market.tables import Instrument as InstrumentTable
from market.tables import Position
from market.trading import Trading
from pricing.risk.book import Book
from pricing.risk.stress import stress_all

_instruments = InstrumentTable.__table__
_positions = Position.__table__


@dataclass(frozen=True)
class RemarginReport:
    """What one pass did."""

    marked: int
    accounts: int
    variation_micros: int
    """Total variation margin paid to winners (equal to what losers paid plus shortfalls)."""
    calls_opened: tuple[str, ...]
    calls_met: tuple[str, ...]
    liquidated_lots: int
    liquidated_symbols: tuple[str, ...]
    liquidated_accounts: tuple[str, ...]
    """Accounts whose calls are liquidating (the engine tried to reduce them this pass)."""
    """Instruments the liquidation engine sent orders in (their books and trades changed)."""
    fund_target_micros: int
    defaults: tuple[waterfall.Cover, ...]


def run(uow: UnitOfWork, trading: Trading, routed: bool = False) -> RemarginReport:
    """Re-margin every account (see the module docstring).

    ``routed``: the pass of the elected process on a sharded exchange (:mod:`market.clearing.outbox`):
    it reads every product's instruments, refreshes the per-instrument margin only of the books it
    holds (each shard's ``refresh_marks`` does its own), and liquidates by writing instructions for
    the shards owning the books instead of trading in them."""
    connection, now = uow.connection, uow.now_us
    every = outbox.every_instrument(connection, trading) if routed else trading.instruments
    instruments = {s: i for s, i in every.items() if i.margined and i.status != "settled"}
    vols = {
        p: v
        for p in sorted({i.product for i in instruments.values()})
        if (v := product_vol(connection, p, now))
    }
    marks: dict[str, Mark] = {}
    for symbol, inst in sorted(instruments.items()):
        found = mark(connection, inst, now)
        if found is None:
            continue
        marks[symbol] = found
        if inst.status in ("open", "halted") and inst.product in vols and symbol in trading.instruments:
            per_lot = margin_per_lot(connection, inst, now, vol=vols[inst.product].margin)
            if per_lot != inst.margin_per_lot:
                update = _instruments.update().where(_instruments.c.symbol == symbol)
                connection.execute(update.values(margin_per_lot=per_lot))
                instruments[symbol] = trading.revise(symbol, margin_per_lot=per_lot)
    rows = uow.load_positions(_positions.c.symbol.in_(sorted(instruments)))
    uow.ledger.preload(sorted({p["account_id"] for p in rows}))
    by_account: dict[str, list[tuple[Instrument, dict]]] = defaultdict(list)
    by_symbol: dict[str, list[dict]] = defaultdict(list)
    for position in sorted(rows, key=lambda p: (p["account_id"], p["symbol"])):
        by_account[position["account_id"]].append((instruments[position["symbol"]], position))
        by_symbol[position["symbol"]].append(position)
    shortfalls: dict[str, int] = defaultdict(int)
    paid = 0
    for symbol, positions in sorted(by_symbol.items()):
        inst = instruments[symbol]
        if variation.settles(inst) and symbol in marks:
            before = sum(p["variation_micros"] for p in positions if p["variation_micros"] > 0)
            for account, short in variation.settle_to_mark(
                uow, inst, positions, variation.mark_price(inst, marks[symbol])
            ).items():
                shortfalls[account] += short
            paid += sum(p["variation_micros"] for p in positions if p["variation_micros"] > 0) - before
    requirements: dict[str, list[portfolio.Requirement]] = {}
    opened, met = [], []
    in_force = calls.in_force(connection)
    for account, positions in sorted(by_account.items()):
        requirements[account] = _requirements(account, positions, marks, vols, now)
        outcome = _hold(uow, account, requirements[account], positions, in_force.get(account))
        (opened if outcome == calls.OPEN else met if outcome == calls.MET else []).append(account)
    liquidated: dict[str, int] = defaultdict(int)
    due = calls.due(uow)
    for call in due:
        positions = by_account.get(call.account_id, [])
        if routed:
            products = outbox.products_to_act(connection, call.account_id, positions)
            outbox.queue(uow, call.id, call.account_id, products)
            sent: dict[str, int] = {}
        else:
            sent = liquidation.liquidate(uow, trading, call.id, call.account_id, positions, marks)
        for symbol, lots in sent.items():
            liquidated[symbol] += lots
        requirements[call.account_id] = _requirements(call.account_id, positions, marks, vols, now)
        _hold(
            uow,
            call.account_id,
            requirements[call.account_id],
            positions,
            calls.active(connection, call.account_id),
        )
    portfolio.store(connection, [r for rs in requirements.values() for r in rs], now)
    members = {a: p for a, p in by_account.items() if a not in fund_accounts(connection)}
    target = fund_target(members, requirements, marks, vols, now)
    waterfall.resize(uow, target, {a: sum(r.required for r in requirements[a]) for a in members})
    covers = tuple(
        waterfall.cover(uow, account, short, f"variation:{now}")
        for account, short in sorted(shortfalls.items())
        if short
    )
    return RemarginReport(
        len(marks),
        len(by_account),
        paid,
        tuple(opened),
        tuple(met),
        sum(liquidated.values()),
        tuple(sorted(liquidated)),
        tuple(sorted({c.account_id for c in due})),
        target,
        covers,
    )


def _requirements(
    account: str,
    positions: list[tuple[Instrument, dict]],
    marks: dict[str, Mark],
    vols: dict[str, ProductVol],
    now: int,
) -> list[portfolio.Requirement]:
    by_product: dict[str, list[tuple[Instrument, dict]]] = defaultdict(list)
    for inst, position in positions:
        by_product[inst.product].append((inst, position))
    return [
        portfolio.requirement(account, product, items, marks, vols[product], now)
        for product, items in sorted(by_product.items())
        if product in vols
    ]


def _hold(
    uow: UnitOfWork,
    account: str,
    requirements: list[portfolio.Requirement],
    positions: list[tuple[Instrument, dict]],
    call: sa.Row | None,
) -> str | None:
    required = sum(r.required for r in requirements)
    held = portfolio.hold(uow, account, required, positions)
    return calls.review(uow, account, required, held, call)


def fund_target(
    by_account: dict[str, list[tuple[Instrument, dict]]],
    requirements: dict[str, list[portfolio.Requirement]],
    marks: dict[str, Mark],
    vols: dict[str, ProductVol],
    now: int,
) -> int:
    """Cover 1: the largest stressed loss of one account beyond the initial margin it must hold."""
    worst = 0
    for account, positions in by_account.items():
        per_scenario: dict[str, float] = defaultdict(float)
        by_product: dict[str, list] = defaultdict(list)
        for inst, position in positions:
            found = marks.get(inst.symbol)
            e = None if found is None else exposure(inst, position["qty"], found, now)
            if e is not None and inst.product in vols:
                by_product[inst.product].append(e)
        for product, exposures in by_product.items():
            for result in stress_all(Book.of(exposures), vols[product].margin, portfolio.PARAMETERS):
                per_scenario[result.name] += result.pnl
        loss = -min(per_scenario.values(), default=0.0)
        held = sum(r.required for r in requirements.get(account, []))
        worst = max(worst, round(loss * 1e6) - held)
    return max(worst, 0)
