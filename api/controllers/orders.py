"""Order entry and order queries; another account's order is a 404."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, delete, get, patch, post
from litestar.params import FromQuery, JSONBody, PathParameter

from api.auth import BEARER_SECURITY, Caller, authenticated
from api.context import ApiContext, Ctx, call
from api.errors import ApiError
from api.openapi import PRIVATE, problems
from api.pagination import (
    HISTORY,
    Page,
    Paging,
    owned_page,
)
from api.publish import announce
from api.schemas.common import Symbol
from api.schemas.orders import (
    BatchError,
    BatchOut,
    BatchResult,
    CancelAfter,
    CancelledOut,
    CancelTimerOut,
    ClientOrderId,
    OcoCreate,
    OcoOut,
    OrderAmend,
    OrderBatch,
    OrderCreate,
    OrderOut,
)
from market.errors import HTTP_STATUS, MarketError, OrderRejectedError
from market.instruments import canonical_symbol
from market.records import OrderInfo, OrderRequest
from market.vocabulary import ORDER_STATUSES

OrderId = Annotated[str, PathParameter(max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
StatusFilter = Literal[("live", *ORDER_STATUSES)]  # type: ignore[valid-type]  # "live": open or partially filled


class OrderController(Controller):
    """Place, amend, cancel and look up your orders."""

    path = "/v1/orders"
    tags = ("orders",)
    guards = (authenticated,)
    security = BEARER_SECURITY

    @post("/", status_code=201, summary="Place an order", responses=problems(*PRIVATE, 403, 404, 409))
    async def place(self, ctx: Ctx, principal: Caller, data: JSONBody[OrderCreate]) -> OrderOut:
        """Validate, hold and match an order; the answer comes after the commit, with any fills.

        An order the book refuses (``post_only_would_take``, ``fok_not_filled``, ...) is a 400 whose
        ``code`` is the book's reason; it is kept, so ``GET /v1/orders/by-client-id/...`` shows it.
        Resending the same order with the same ``client_order_id`` returns the original result.
        """
        request = order_request(data)
        order, changes = await ctx.orders.place(principal.account_id, request)
        await announce(ctx, [order], changes=changes)
        if order.status == "rejected":  # stored (a resend returns it again), but not accepted: a 4xx
            reason = order.reason or "rejected"
            raise OrderRejectedError(reason, f"the book refused order {order.id}: {reason}", field="order")
        return OrderOut.of(order)

    @post("/batch", status_code=200, summary="Place a batch of orders", responses=problems(*PRIVATE, 403))
    async def place_batch(self, ctx: Ctx, principal: Caller, data: JSONBody[OrderBatch]) -> BatchOut:
        """Place up to 20 orders (``MAX_BATCH_ORDERS``), in the order given, in ONE transaction: the answer
        comes after a single commit that holds all of them. Each order has its own outcome, exactly
        what ``POST /v1/orders`` would have answered for it (an order, or an error with the code and
        status it would have had); one order's refusal does not stop the others."""
        return await place_batch(ctx, principal.account_id, data.orders)

    @post(
        "/oco",
        status_code=201,
        summary="Place a one-cancels-other pair",
        responses=problems(*PRIVATE, 403, 404, 409),
    )
    async def place_oco(self, ctx: Ctx, principal: Caller, data: JSONBody[OcoCreate]) -> OcoOut:
        """Place two orders of one instrument, linked: when either trades (any fill), triggers or
        closes, the other is cancelled in the same commit; cancelling either cancels both. Each leg
        is checked and held as a single order would be (the pair holds for both legs). A pair the
        book refuses is a 400 whose ``code`` is the failing leg's reason (``invalid_oco`` when the
        pair rules are broken); both legs are kept as ``rejected``."""
        requests = [order_request(leg) for leg in data.orders]
        committed = await call(ctx.exchange.place_oco_committed, principal.account_id, tuple(requests))
        legs = committed.value
        await announce(ctx, legs, changes=committed.changes)
        if legs[0].status == "rejected":
            reason = next((o.reason for o in legs if o.reason != "oco_leg_rejected"), None) or "rejected"
            raise OrderRejectedError(reason, f"the book refused the pair: {reason}", field="orders")
        return OcoOut(link_id=legs[0].link_id, orders=[OrderOut.of(order) for order in legs])

    @post(
        "/cancel-all-after",
        status_code=200,
        summary="Arm the dead-man switch",
        responses=problems(*PRIVATE, 403),
    )
    async def cancel_all_after(
        self, ctx: Ctx, principal: Caller, data: JSONBody[CancelAfter]
    ) -> CancelTimerOut:
        """Cancel all your live orders ``timeout`` seconds from now (exchange clock) unless you renew
        before then; ``timeout: 0`` disarms. The deadline is stored, so it survives a restart of the
        server (and fires at once after one if it passed meanwhile). When it fires, the cancelled
        orders appear on your private ``orders`` stream channel and in ``cancelled`` here."""
        timer = await call(ctx.exchange.arm_cancel_timer, principal.account_id, data.timeout)
        ctx.cancel_timers.armed(timer.deadline)
        return CancelTimerOut.of(timer, ctx.exchange.now())

    @get("/cancel-all-after", summary="Your dead-man switch", responses=problems(*PRIVATE))
    async def cancel_timer(self, ctx: Ctx, principal: Caller) -> CancelTimerOut:
        """Whether your dead-man switch is armed, until when, and what it last cancelled."""
        timer = await call(ctx.exchange.cancel_timer, principal.account_id)
        return CancelTimerOut.of(timer, ctx.exchange.now())

    @get("/", summary="List your orders", responses=problems(*PRIVATE), dependencies=HISTORY)
    async def list_orders(
        self,
        ctx: Ctx,
        principal: Caller,
        status: FromQuery[StatusFilter | None] = None,
        symbol: FromQuery[Symbol | None] = None,
        *,
        history: Paging,
    ) -> Page[OrderOut]:
        """Your orders created in ``[start, end)``, oldest first (``order=desc``: newest first);
        ``status=live`` selects open and partially filled ones."""
        return await owned_page(
            ctx.exchange.orders,
            principal.account_id,
            history.cursor,
            history.limit,
            lambda order: order.id,
            OrderOut.of,
            str,
            status=status,
            symbol=None if symbol is None else canonical_symbol(symbol),
            span=history.span,
        )

    @get("/{order_id:str}", summary="Get an order", responses=problems(*PRIVATE, 404))
    async def get_order(self, ctx: Ctx, principal: Caller, order_id: OrderId) -> OrderOut:
        """One of your orders with its fills."""
        return OrderOut.of(await call(ctx.exchange.order, principal.account_id, order_id))

    @get(
        "/by-client-id/{client_order_id:str}",
        summary="Get an order by client id",
        responses=problems(*PRIVATE, 404),
    )
    async def get_by_client_id(self, ctx: Ctx, principal: Caller, client_order_id: ClientOrderId) -> OrderOut:
        """Your order with that ``client_order_id``."""
        return OrderOut.of(await call(ctx.exchange.order_by_client_id, principal.account_id, client_order_id))

    @patch("/{order_id:str}", summary="Amend an order", responses=problems(*PRIVATE, 404, 409))
    async def amend(
        self, ctx: Ctx, principal: Caller, order_id: OrderId, data: JSONBody[OrderAmend]
    ) -> OrderOut:
        """Change quantity and/or price; a quantity decrease keeps time priority, anything else loses it."""
        if data.quantity is None and data.price is None:
            raise ApiError("invalid_request", "give a new quantity, a new price or both", field="quantity")
        amended = await call(
            ctx.exchange.amend_order_committed,
            principal.account_id,
            order_id,
            qty=data.quantity,
            price=data.price,
        )
        await announce(ctx, [amended.value], changes=amended.changes)
        return OrderOut.of(amended.value)

    @delete(
        "/{order_id:str}", status_code=200, summary="Cancel an order", responses=problems(*PRIVATE, 404, 409)
    )
    async def cancel(self, ctx: Ctx, principal: Caller, order_id: OrderId) -> OrderOut:
        """Cancel what is still open of an order."""
        cancelled = await call(ctx.exchange.cancel_order_committed, principal.account_id, order_id)
        await announce(ctx, [cancelled.value], changes=cancelled.changes)
        return OrderOut.of(cancelled.value)

    @delete("/", status_code=200, summary="Cancel your orders", responses=problems(*PRIVATE))
    async def cancel_all(
        self, ctx: Ctx, principal: Caller, symbol: FromQuery[Symbol | None] = None
    ) -> CancelledOut:
        """Cancel every open order of yours, in one instrument or everywhere."""
        chosen = None if symbol is None else canonical_symbol(symbol)
        cancelled = await call(ctx.exchange.cancel_orders_committed, principal.account_id, chosen)
        await announce(ctx, cancelled.value, changes=cancelled.changes)
        return CancelledOut(cancelled=[OrderOut.of(order) for order in cancelled.value])


def order_request(data: OrderCreate) -> OrderRequest:
    """The market's order for a validated body. Prices stay the decimals the client wrote: trading
    converts them with the instrument it holds (``unknown_instrument``, ``off_tick`` raise there)."""
    return OrderRequest(
        symbol=data.symbol,
        side=data.side,
        qty=data.quantity,
        type=data.type,
        price=data.price,
        tif=data.time_in_force,
        post_only=data.post_only,
        client_order_id=data.client_order_id,
        stp=data.stp,
        expire_at=data.expire_at,
        display_qty=data.display_quantity,
        stop_price=data.stop_price,
        reduce_only=data.reduce_only,
        trail=data.trail,
        activation_price=data.activation_price,
    )


async def place_batch(ctx: ApiContext, account_id: str, orders: list[OrderCreate]) -> BatchOut:
    """Place in one transaction, announce, and report each order's outcome."""
    batch = [(account_id, order_request(data)) for data in orders]
    placed = await call(ctx.exchange.place_orders_committed, batch)
    outcomes = placed.value
    await announce(ctx, [o for o in outcomes if isinstance(o, OrderInfo)], changes=placed.changes)
    return BatchOut(results=[_result(i, outcome) for i, outcome in enumerate(outcomes)])


def _result(index: int, outcome: OrderInfo | MarketError) -> BatchResult:
    if isinstance(outcome, MarketError):
        status = HTTP_STATUS.get(outcome.code, outcome.status)
        return BatchResult(index, None, BatchError(outcome.code, status, outcome.message, outcome.field))
    error = None
    if outcome.status == "rejected":
        reason = outcome.reason or "rejected"
        error = BatchError(reason, 400, f"the book refused order {outcome.id}: {reason}", "order")
    return BatchResult(index, OrderOut.of(outcome), error)
