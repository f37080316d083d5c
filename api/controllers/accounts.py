"""Accounts (admin), deposits (admin), ``/v1/me`` and API keys (each account its own; admins anyone's).

A key can only issue keys with scopes it holds itself, so a narrowed key never widens into a broader
one; revoking and issuing are changes (the ``trade`` scope), listing is a read.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.params import FromPath, HeaderParameter, JSONBody

from api.auth import BEARER_SECURITY, Caller, Principal, authenticated, requires
from api.context import Ctx, call
from api.errors import ApiError
from api.feeds import publish_private
from api.openapi import ADMIN, PRIVATE, problems
from api.schemas.accounts import (
    AccountCreate,
    AccountOut,
    ApiKeyOut,
    BalancesOut,
    CreatedAccountOut,
    DepositCreate,
    IssuedKeyOut,
    KeyCreate,
    MarginCallOut,
    MeOut,
    TransferOut,
)
from market.accounts import TRANSFER
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
        opt={"scope": TRANSFER},
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
        transfer = await call(ctx.exchange.deposit, account_id, amount, key)
        await publish_private(ctx)
        return TransferOut.of(transfer)

    @get("/{account_id:str}/keys", summary="List an account's API keys", responses=problems(*ADMIN, 404))
    async def keys(self, ctx: Ctx, account_id: FromPath[str]) -> list[ApiKeyOut]:
        """Every key of the account, revoked ones included (prefixes only)."""
        return [ApiKeyOut.of(k) for k in await call(ctx.exchange.api_keys, account_id)]

    @post(
        "/{account_id:str}/keys",
        status_code=201,
        summary="Issue an API key for an account",
        responses=problems(*ADMIN, 404),
    )
    async def issue_key(
        self, ctx: Ctx, principal: Caller, account_id: FromPath[str], data: JSONBody[KeyCreate]
    ) -> IssuedKeyOut:
        """A new key for the account; the key is in this response only."""
        scopes = _scopes(principal, data)
        return IssuedKeyOut.of(await call(ctx.exchange.issue_api_key, account_id, scopes))

    @delete(
        "/{account_id:str}/keys/{prefix:str}",
        status_code=204,
        summary="Revoke an account's API key",
        responses=problems(*ADMIN, 404),
    )
    async def revoke_key(self, ctx: Ctx, account_id: FromPath[str], prefix: FromPath[str]) -> None:
        """The key stops working within seconds (see the key cache)."""
        await call(ctx.exchange.revoke_api_key, prefix, account_id)


def _scopes(principal: Principal, data: KeyCreate) -> list[str]:
    """The scopes asked for (default: the caller's), refused when wider than the caller's own key."""
    wanted = set(data.scopes) if data.scopes is not None else set(principal.scopes)
    extra = wanted - principal.scopes
    if extra:
        raise ApiError(
            "insufficient_scope",
            f"a key cannot issue scopes it lacks: {', '.join(sorted(extra))}",
            status=403,
        )
    return sorted(wanted)


class KeyController(Controller):
    """The caller's own API keys."""

    path = "/v1/me/keys"
    tags = ("accounts",)
    guards = (authenticated,)
    security = BEARER_SECURITY

    @get("/", summary="List your API keys", responses=problems(*PRIVATE))
    async def list_keys(self, ctx: Ctx, principal: Caller) -> list[ApiKeyOut]:
        """Your keys, revoked ones included (prefixes only)."""
        return [ApiKeyOut.of(k) for k in await call(ctx.exchange.api_keys, principal.account_id)]

    @post("/", status_code=201, summary="Issue yourself an API key", responses=problems(*PRIVATE, 403))
    async def issue(self, ctx: Ctx, principal: Caller, data: JSONBody[KeyCreate]) -> IssuedKeyOut:
        """A new key with at most the scopes of the key you call with; shown in this response only."""
        scopes = _scopes(principal, data)
        return IssuedKeyOut.of(await call(ctx.exchange.issue_api_key, principal.account_id, scopes))

    @delete(
        "/{prefix:str}",
        status_code=204,
        summary="Revoke one of your API keys",
        responses=problems(*PRIVATE, 404),
    )
    async def revoke(self, ctx: Ctx, principal: Caller, prefix: FromPath[str]) -> None:
        """Revoke your key with that prefix (another account's is ``not_found``)."""
        await call(ctx.exchange.revoke_api_key, prefix, principal.account_id)


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
    open_orders = await call(ctx.exchange.open_order_count, principal.account_id)
    calls = await call(ctx.exchange.margin_calls, principal.account_id)
    return MeOut(
        account=AccountOut.of(account),
        balances=BalancesOut.of(balances),
        open_orders=open_orders,
        margin_calls=[MarginCallOut.of(c) for c in calls if c.status in ("open", "liquidating")],
    )
