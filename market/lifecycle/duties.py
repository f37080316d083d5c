"""The lifecycle's duties, in the order a run takes them; each is a few calls of the exchange facade.

Every duty is idempotent (a second run at the same instant changes nothing) and returns what it did
and when it is next due:

1. ``fix_index`` -- the day forwards whose delivery began get their trades' VWAP as an index fixing;
2. ``settle`` -- expiries, exercises, physical deliveries, cash and Asian settlements that are due
   (next due at the next expiry or window boundary, at least hourly);
   then ``service_pools`` -- every securitised pool period that ended runs through the waterfall and
   pays its noteholders (:mod:`market.securitization.servicing`; next due at the next period's end);
3. ``expire_orders`` -- good-till-date orders whose time came (next due at the next such expiry);
4. ``roll`` -- each product's series and options as its :class:`~market.lifecycle.schedule.SeriesPlan`
   says (options wait for the product's first fixing: a strike grid needs a mark);
5. ``refresh_models`` -- each product's market model re-selected by out-of-sample score and
   recalibrated (:meth:`market.service.Exchange.refresh_models`; daily per product, the pass in
   between skips it) before the marks use it;
6. ``refresh_marks`` -- marks and the margins they set (hourly and after every new fixing): one call of
   :meth:`market.service.Exchange.refresh_marks`, the single place a market model is applied;
7. ``remargin`` -- the clearing house's pass over the fresh marks (variation margin, portfolio margin,
   margin calls, liquidation of calls past their deadline, defaults): hourly and whenever marks are
   brought forward by a new fixing, one call of :meth:`market.service.Exchange.remargin`;
8. ``auto_offers`` -- the asks of auto-offering listings placed and re-priced to the marks;
9. ``baskets`` -- basket funds whose strip has settled are wound up and every active fund's NAV is
   published from the fresh marks (:mod:`market.baskets`, hourly);
10. ``deliveries`` -- delivery days without an access handle past their grace fail, undisputed days
   past their window are accepted, finished listings get their collateral back (hourly).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from market.clearing.remargin import RemarginReport
from market.errors import NoMarkError
from market.instruments import InstrumentKind, Settlement, Status, WindowKind
from market.lifecycle.schedule import next_hour
from market.records import InstrumentInfo, SettlementReport
from market.securitization.records import ServiceReport
from market.service import Exchange
from market.units import to_epoch_us

LOOKBACK = timedelta(days=2)  # fix_index re-examines the days this long before its previous run


@dataclass(frozen=True)
class Outcome:
    """What one run of a duty did (one line for the job table), when the duty is next due, and the
    report of the use case it ran where others need it (the API announces settlements and clearing
    passes on the stream exactly as when an admin triggers them)."""

    detail: str
    next_run_us: int
    report: SettlementReport | RemarginReport | ServiceReport | None = None


@dataclass(frozen=True)
class Duty:
    """A named duty: ``run(exchange, previous_run)`` where ``previous_run`` is when it last finished."""

    name: str
    run: Callable[[Exchange, datetime | None], Outcome]


def fix_index(ex: Exchange, previous: datetime | None) -> Outcome:
    """Fix each product's index from the trades of every day forward whose delivery has begun."""
    now = ex.now()
    fixed = []
    for inst in ex.instruments(kind=InstrumentKind.FORWARD.value):
        if inst.window_kind != WindowKind.DAY or inst.window_start > now or not ex.holds(inst.product):
            continue
        if previous is not None and inst.window_start < previous - LOOKBACK:
            continue
        if ex.fix_index_from_trades(inst.product, inst.window_start) is not None:
            fixed.append(inst.symbol)
    return Outcome(f"fixed {len(fixed)} day(s) from trades", next_hour(to_epoch_us(now)))


def settle(ex: Exchange, _: datetime | None) -> Outcome:
    """Run every settlement step that is due; next due at the next instrument boundary (or in an hour)."""
    report = ex.settle()
    now_us = to_epoch_us(ex.now())
    upcoming = [b for i in ex.instruments() if (b := _boundary(i)) is not None and b > now_us]
    detail = (
        f"expired {len(report.expired)}, exercised {len(report.exercised)}, "
        f"delivered {len(report.delivered)}, cash-settled {len(report.cash_settled)}"
    )
    return Outcome(detail, min([next_hour(now_us), *upcoming]), report)


def _boundary(inst: InstrumentInfo) -> int | None:
    """The next instant settlement has something to do for ``inst`` (None when it is done)."""
    if inst.status in (Status.OPEN, Status.HALTED):
        return to_epoch_us(inst.expiry)
    if inst.status != Status.EXPIRED:
        return None
    physical = inst.kind == InstrumentKind.FORWARD and inst.settlement == Settlement.PHYSICAL
    return to_epoch_us(inst.window_start if physical else inst.window_end)


def service_pools(ex: Exchange, _: datetime | None) -> Outcome:
    """Service every pool period that has ended (after settle: its deliveries released their escrow)."""
    report = ex.service_pools()
    now_us = to_epoch_us(ex.now())
    due = ex.next_pool_due_us()
    following = next_hour(now_us) if due is None else max(min(due, next_hour(now_us)), now_us + 1)
    return Outcome(f"serviced {len(report.serviced)} pool period(s)", following, report)


def expire_orders(ex: Exchange, _: datetime | None) -> Outcome:
    """Expire the good-till-date orders whose time came; next due at the next one (or in an hour)."""
    ex.advance_clock()
    now_us = to_epoch_us(ex.now())
    following = ex.next_order_expiry()
    due = next_hour(now_us) if following is None else min(next_hour(now_us), to_epoch_us(following))
    return Outcome("good-till-date orders expired up to now", max(due, now_us + 1))


def roll(ex: Exchange, _: datetime | None) -> Outcome:
    """List each product's series and options per its plan (windows already listed are skipped)."""
    from pricing.calendar import business_days_before  # QuantLib loads only when needed

    now = ex.now()
    listed, waiting = 0, []
    for product in ex.products():
        if not ex.holds(product.id):  # a shard lists its own products' series
            continue
        plan = ex.product_schedule(product.id)
        listed += len(
            ex.create_series(
                product.id,
                months=plan.months,
                weeks=plan.weeks,
                days=plan.days,
                settlement=plan.settlement,
            )
        )
        if not plan.option_months:
            continue
        instruments = ex.instruments(product=product.id)
        written = {i.underlying for i in instruments if i.kind != InstrumentKind.FORWARD}
        months = [
            i
            for i in instruments
            if i.kind == InstrumentKind.FORWARD
            and i.window_kind == WindowKind.MONTH
            and i.settlement == plan.settlement
            and i.status == Status.OPEN
        ]
        european = plan.option_style == "european"
        tradeable = [
            m
            for m in months
            if (
                business_days_before(m.window_start, plan.expiry_business_days)
                if european
                else m.window_start
            )
            > now
        ][: plan.option_months]
        for month in tradeable:
            if month.symbol in written:
                continue
            try:
                listed += len(
                    ex.create_option_chain(
                        month.symbol,
                        strikes=plan.strikes,
                        step_bps=plan.step_bps,
                        style=plan.option_style,
                        expiry_business_days=plan.expiry_business_days,
                    )
                )
            except NoMarkError:
                waiting.append(month.symbol)  # no fixing yet: the options come with the first one
    detail = f"listed {listed}" + (f"; options wait for a mark on {', '.join(waiting)}" if waiting else "")
    return Outcome(detail, next_hour(to_epoch_us(now)))


def refresh_models(ex: Exchange, _: datetime | None) -> Outcome:
    """Re-select and recalibrate the market model of every product that is due (see market.models)."""
    written = ex.refresh_models()
    detail = ", ".join(f"{m.product}: {m.model} ({m.source})" for m in written) or "no model due"
    return Outcome(f"models refreshed: {detail}"[:500], next_hour(to_epoch_us(ex.now())))


def refresh_marks(ex: Exchange, _: datetime | None) -> Outcome:
    """Re-mark every open instrument and reset the margins its orders and new positions hold."""
    updated = ex.refresh_marks()
    return Outcome(f"margins of {len(updated)} instrument(s) refreshed", next_hour(to_epoch_us(ex.now())))


def remargin(ex: Exchange, _: datetime | None) -> Outcome:
    """Run one clearing pass over the marks just refreshed (see :mod:`market.clearing`)."""
    report = ex.remargin()
    detail = (
        f"{report.accounts} account(s) re-margined, {len(report.calls_opened)} call(s) opened, "
        f"{report.liquidated_lots} lot(s) liquidated, {len(report.defaults)} default(s)"
    )
    return Outcome(detail, next_hour(to_epoch_us(ex.now())), report)


def clearing_orders(ex: Exchange, _: datetime | None) -> Outcome:
    """A shard's: execute the liquidation instructions the elected clearing pass wrote for its books
    (:mod:`market.clearing.outbox`); due again at the next pass of the runner."""
    applied = ex.drain_clearing()
    lots = sum(sum(a.filled.values()) for a in applied)
    return Outcome(
        f"{len(applied)} instruction(s) applied, {lots} lot(s) liquidated", to_epoch_us(ex.now()) + 1
    )


def auto_offers(ex: Exchange, _: datetime | None) -> Outcome:
    """Place the asks auto-offering listings are owed and re-price fair-value asks to the marks."""
    changed = ex.refresh_auto_offers()
    return Outcome(f"{changed} ask(s) placed or re-priced", next_hour(to_epoch_us(ex.now())))


def baskets(ex: Exchange, _: datetime | None) -> Outcome:
    """Wind up the basket funds that are due, then publish every active fund's NAV (after the clearing
    pass: its variation margin is in the funds' cash and the settled funds' contributions are back)."""
    wound = ex.wind_up_baskets()
    navs = ex.publish_navs()
    detail = f"{len(navs)} NAV(s) published, {len(wound)} fund(s) wound up"
    return Outcome(detail, next_hour(to_epoch_us(ex.now())))


def deliveries(ex: Exchange, _: datetime | None) -> Outcome:
    """Fail, accept and release what physical delivery owes now (see :mod:`market.delivery`)."""
    report = ex.run_deliveries()
    detail = f"{report.failed} day(s) failed, {report.accepted} accepted"
    return Outcome(detail, next_hour(to_epoch_us(ex.now())))


DUTIES: tuple[Duty, ...] = (
    Duty("fix_index", fix_index),
    Duty("settle", settle),
    Duty("service_pools", service_pools),
    Duty("expire_orders", expire_orders),
    Duty("roll", roll),
    Duty("refresh_models", refresh_models),
    Duty("refresh_marks", refresh_marks),
    Duty("remargin", remargin),
    Duty("auto_offers", auto_offers),
    Duty("baskets", baskets),
    Duty("deliveries", deliveries),
)
"""Every duty in the order one run takes them (settle before roll, roll before marks, marks before
the clearing pass and the offers), so a run after a long pause first closes what expired, then lists,
marks, re-margins and offers anew."""

TRIGGERED = ("roll", "refresh_marks", "remargin", "auto_offers")
"""Duties brought forward when a fixing, an instrument or a listing appears (see the runner)."""

SHARD_DUTIES = (
    "fix_index",
    "settle",
    "expire_orders",
    "roll",
    "refresh_models",
    "refresh_marks",
    "auto_offers",
    "baskets",
)
"""The duties of one product's books, which a shard runs for the products it holds (in
:data:`DUTIES` order): the index from their day forwards' trades, their settlement, good-till-date
expiries, listing their series, their market models and marks, the auto-offered asks in them, and
the basket funds whose unit and every leg are in them (NAVs, wind-ups; a fund across shards is
refused). The others span products or accounts -- the clearing pass (a portfolio's margin nets every
product, a liquidation trades in any book), pools, deliveries (decided per delivery day, not per
book). The clearing pass, pool servicing and deliveries run on the
elected shard (:data:`ELECTED_DUTIES`), what they need done in a book executed by that book's shard
(``clearing_orders``: liquidations, note revisions; docs/scaling.md)."""


ELECTED_DUTIES = ("service_pools", "remargin", "deliveries")
"""The account-wide duties a shard runs while it is the elected clearing process (it holds the
clearing lock, :mod:`market.clearing.outbox`), under the single writer's job names (one process
runs them at a time): pool servicing (the waterfall and its payments are ledger rows; a note's face
and retirement go to the shard holding its book as instructions), the clearing pass, and deliveries
(decided per delivery day from rows no book owns, and touching no book, so one elected process
decides each day once)."""

ORDER = (*[d.name for d in DUTIES][: [d.name for d in DUTIES].index("remargin") + 1], "clearing_orders")
ORDER = (*ORDER, *[d.name for d in DUTIES if d.name not in ORDER])
"""Every duty a process may run, in the order of a pass: a shard drains the clearing instructions
right after the pass that may have written them."""


def shard_duties(tag: str) -> tuple[Duty, ...]:
    """A shard's duties (:data:`SHARD_DUTIES`, then draining the clearing instructions for its books),
    each named ``<duty>@<tag>`` so every shard keeps its own job rows (``tag``: a short name of the
    shard, unique among them)."""
    own = [d for d in DUTIES if d.name in SHARD_DUTIES] + [Duty("clearing_orders", clearing_orders)]
    return in_order(tuple(Duty(f"{d.name}@{tag}", d.run) for d in own))


def elected_duties() -> tuple[Duty, ...]:
    """The duties of the elected clearing process (:data:`ELECTED_DUTIES`)."""
    return tuple(d for d in DUTIES if d.name in ELECTED_DUTIES)


def in_order(duties: tuple[Duty, ...]) -> tuple[Duty, ...]:
    """``duties`` in the order of :data:`ORDER` (a shard's are named ``<duty>@<tag>``)."""
    return tuple(sorted(duties, key=lambda d: ORDER.index(d.name.partition("@")[0])))
