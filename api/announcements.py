"""Announce on the stream what a settlement run, a clearing pass or a pool servicing did, whoever ran it.

An admin's ``POST /v1/admin/settle``, ``/v1/admin/remargin`` or ``/v1/admin/pools/service`` and the
lifecycle running the same use cases inside ``flopex serve`` announce through these functions, so
subscribers see the same messages either way: the books, trades and tickers of every instrument
touched (expiries empty books, exercises trade in the underlying, liquidations trade, retired notes
close their books), order updates for orders an expiry or a retirement cancelled, each margin
call's new state on its account's private channel, and each delivery record a settlement run
allocated or a delivery run changed to its buyer and provider (the provider's carries the alert
while no access handle is attached).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import msgspec

from api.context import ApiContext, call
from api.publish import TRADE_PAGE, announce
from api.schemas.clearing import MarginCallOut
from api.schemas.orders import OrderOut
from api.schemas.portfolio import DeliveryOut
from market.clearing.remargin import RemarginReport
from market.lifecycle.runner import DutyRun
from market.records import DeliveryInfo, DeliveryReport, SettlementReport
from market.securitization.notes import RETIRED
from market.securitization.records import ServiceReport

EXPIRED = "instrument_expired"
"""The reason of an order cancelled because its instrument expired."""


async def announce_settlement(ctx: ApiContext, report: SettlementReport) -> None:
    """Announce a settlement run: cancelled orders to their listening owners, then the books, trades
    and tickers of every instrument it expired, delivered, settled or exercised (and the forwards the
    exercises traded in)."""
    touched = {*report.expired, *report.delivered, *report.cash_settled, *report.exercised}
    for symbol in report.exercised:
        underlying = (await call(ctx.exchange.instrument, symbol)).underlying
        if underlying is not None:
            touched.add(underlying)
    for account_id in ctx.hub.private_listeners():
        for symbol in report.expired:
            cancelled = await call(
                ctx.exchange.orders, account_id, status="cancelled", symbol=symbol, limit=TRADE_PAGE
            )
            for order in cancelled:
                if order.reason == EXPIRED:
                    ctx.hub.order(account_id, msgspec.to_builtins(OrderOut.of(order)))
    if report.delivered:
        await _announce_deliveries(ctx, lambda d: d.symbol in report.delivered)
    await announce(ctx, (), touched)


async def announce_deliveries(ctx: ApiContext, report: DeliveryReport) -> None:
    """Announce a delivery run: each delivery a day of which failed or was accepted, to its listening
    buyer and provider."""
    if report.changed:
        await _announce_deliveries(ctx, lambda d: d.id in report.changed)


async def _announce_deliveries(ctx: ApiContext, which: Callable[[DeliveryInfo], bool]) -> None:
    for account_id in ctx.hub.private_listeners():
        for found in await call(ctx.exchange.deliveries, account_id):
            if which(found):
                ctx.hub.delivery(account_id, msgspec.to_builtins(DeliveryOut.of(found)))


async def announce_remargin(ctx: ApiContext, report: RemarginReport) -> None:
    """Announce a clearing pass: the books and trades of liquidations, and the latest margin call of
    every listening account whose call opened, was met or is being liquidated."""
    await announce(ctx, (), report.liquidated_symbols)
    changed = {*report.calls_opened, *report.calls_met, *report.liquidated_accounts}
    for account_id in sorted(set(ctx.hub.private_listeners()) & changed):
        latest = await call(ctx.exchange.margin_calls, account_id)
        if latest:
            ctx.hub.margin_call(account_id, msgspec.to_builtins(MarginCallOut.of(latest[0])))


async def announce_service(ctx: ApiContext, report: ServiceReport) -> None:
    """Announce a pool servicing run: orders a retired note's book cancelled to their listening
    owners, then the books and tickers of the retired notes."""
    if not report.retired:
        return
    for account_id in ctx.hub.private_listeners():
        for symbol in report.retired:
            cancelled = await call(
                ctx.exchange.orders, account_id, status="cancelled", symbol=symbol, limit=TRADE_PAGE
            )
            for order in cancelled:
                if order.reason == RETIRED:
                    ctx.hub.order(account_id, msgspec.to_builtins(OrderOut.of(order)))
    await announce(ctx, (), report.retired)


async def announce_duties(ctx: ApiContext, runs: Iterable[DutyRun]) -> None:
    """Announce what a lifecycle pass did, duty by duty, as the admin routes announce the same runs."""
    for run in runs:
        if isinstance(run.report, SettlementReport):
            await announce_settlement(ctx, run.report)
        elif isinstance(run.report, RemarginReport):
            await announce_remargin(ctx, run.report)
        elif isinstance(run.report, ServiceReport):
            await announce_service(ctx, run.report)
        elif isinstance(run.report, DeliveryReport):
            await announce_deliveries(ctx, run.report)
