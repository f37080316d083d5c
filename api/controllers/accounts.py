"""Accounts (admin), deposits (admin) and ``/v1/me``."""

from __future__ import annotations

import secrets
from typing import Annotated

from litestar import Controller, get, post
from litestar.params import FromPath, HeaderParameter, JSONBody

from api.auth import BEARER_SECURITY, Caller, authenticated, requires
from api.context import Ctx, call
from api.openapi import ADMIN, PRIVATE, problems
from api.schemas.accounts import (
    AccountCreate,
    AccountOut,
    BalancesOut,
    CreatedAccountOut,
    DepositCreate,
    MarginCallOut,
    MeOut,
    TransferOut,
)
from market.units import dollars_to_micros

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key", max_length=200, description="repeat a request without repeating its effect"
    ),
]


class AccountController(Controller):
    """Creating accounts and crediting cash: the operator's job."""

    path = "/v1/accounts"
    tags = ("accounts",)
    guards = (requires("admin"),)
    security = BEARER_SECURITY

    @post("/", status_code=201, summary="Create an account", responses=problems(*ADMIN, 409))
    async def create(self, ctx: Ctx, data: JSONBody[AccountCreate]) -> CreatedAccountOut:
        """A new account and its API key; the key is in this response only."""
        return CreatedAccountOut.of(await call(ctx.exchange.create_account, data.name, data.roles))

    @post(
        "/{account_id:str}/deposits",
        status_code=201,
        summary="Deposit cash",
        responses=problems(*ADMIN, 404, 409),
    )
    async def deposit(
        self,
        ctx: Ctx,
        account_id: FromPath[str],
        data: JSONBody[DepositCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> TransferOut:
        """Credit cash; with an ``Idempotency-Key`` a retry returns the first deposit, across restarts too."""
        amount = dollars_to_micros(data.amount, "amount")
        key = idempotency_key or f"auto-{secrets.token_hex(16)}"
        return TransferOut.of(await call(ctx.exchange.deposit, account_id, amount, key))


@get(
    "/v1/me",
    tags=["accounts"],
    summary="Who am I",
    guards=[authenticated],
    security=BEARER_SECURITY,
    responses=problems(*PRIVATE),
)
async def me(ctx: Ctx, principal: Caller) -> MeOut:
    """The caller's account, roles, balances (USD), number of open orders and margin calls in force."""
    account = await call(ctx.exchange.account, principal.account_id)
    balances = await call(ctx.exchange.balances, principal.account_id)
    open_orders = ctx.exchange.open_order_count(principal.account_id)
    calls = await call(ctx.exchange.margin_calls, principal.account_id)
    return MeOut(
        account=AccountOut.of(account),
        balances=BalancesOut.of(balances),
        open_orders=open_orders,
        margin_calls=[MarginCallOut.of(c) for c in calls if c.status in ("open", "liquidating")],
    )
