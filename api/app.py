"""The Litestar application: ``create_app(settings)`` wires the exchange service to HTTP and WebSocket.

Handlers are thin: they validate input with msgspec structs, convert decimal strings to the market's
integers, call one :class:`market.service.Exchange` use case in a worker thread and render the result.
Domain rules live in the service; the API adds authentication, limits, idempotency, pagination,
problem details and the stream. While it serves, a background task runs the market's lifecycle
(:mod:`market.lifecycle`) every ``FLOPEX_LIFECYCLE_SECONDS`` on the exchange clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from functools import partial
from importlib.metadata import PackageNotFoundError, version

import anyio
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware

from api.announcements import announce_duties
from api.auth import Authenticator, Principal, current_principal
from api.batching import OrderBatcher, place_orders_with_changes
from api.cancel_timers import CancelTimers
from api.context import ApiContext, call, context_of
from api.controllers.accounts import AccountController, KeyController, me
from api.controllers.admin import AdminController
from api.controllers.baskets import BasketAdminController, BasketController
from api.controllers.clearing import ClearingAdminController, margin_calls, risk
from api.controllers.deliveries import DeliveryAdminController, DeliveryController
from api.controllers.exchange_info import fees, server_time
from api.controllers.hedges import MAX_HEDGE_BYTES, HedgeController
from api.controllers.index import MAX_IMPORT_BYTES, IndexController
from api.controllers.instruments import InstrumentController, ProductController
from api.controllers.listings import ListingController
from api.controllers.market_data import MarketDataController
from api.controllers.orders import OrderController
from api.controllers.plans import PlanController
from api.controllers.pools import PoolAdminController, PoolController
from api.controllers.portfolio import PortfolioController
from api.controllers.pricing import price
from api.controllers.quote import quote
from api.controllers.recovery import RecoveryController
from api.controllers.reports import ReportController
from api.controllers.securitization import price_deal
from api.controllers.shards import adopt_books, move_books
from api.controllers.stress import stress
from api.controllers.system import health
from api.cors import PeerCors
from api.edge import strict_edge
from api.errors import EXCEPTION_HANDLERS
from api.feeds import FEEDS, publish_account
from api.feeds import snapshot as feed_snapshot
from api.idempotency import IdempotencyMiddleware, IdempotencyStore
from api.openapi import ClosedRequestSchemas, docs_assets, openapi_config
from api.options import AllowedMethods
from api.pagination import use_cursor_secret
from api.pricing_jobs import PricingPool
from api.publish import announce_cancelled, load_book, start_fills, start_trades
from api.ratelimit import AUTH_FAILURES_PER_MINUTE, Budget, RateLimiter, TokenBuckets
from api.settings import Settings
from api.shared_state import (
    SharedBuckets,
    SharedIdempotencyStore,
    purge_loop,
    revocation_counter,
    shares_state,
)
from api.standby import Presence, adopt_orphans, book_elsewhere, heartbeat, stream_relay, take_over
from api.stream import BookState, FeedSnapshot, StreamHub, stream_route
from api.ui import ui_routes
from market.db import make_engine
from market.errors import BookElsewhereError, BookUnavailableError
from market.lifecycle.duties import DUTIES, Duty, elected_duties, shard_duties
from market.lifecycle.runner import Runner
from market.records import CancelSweep
from market.service import Exchange

log = logging.getLogger("flopex.api")

MAX_BODY_BYTES = 64 * 1024
"""Largest request body accepted (a pricing request with an hourly year of fixings fits)."""


def _version() -> str:
    try:
        return version("flopex")
    except PackageNotFoundError:
        return "0+unknown"


MIRRORED = ("book", "trades", "ticker", "candles")
"""Stream channels of one book: a shard mirrors those of other shards' books (``api.mirror``)."""


async def run_lifecycle(ctx: ApiContext, seconds: float) -> None:
    """Run the lifecycle's due duties every ``seconds`` until cancelled (a pass never overlaps another),
    announcing on the stream what each pass settled and cleared (as the admin routes do)."""
    while True:
        try:
            runs = await anyio.to_thread.run_sync(ctx.lifecycle.run_due)
            await announce_duties(ctx, runs)
        except Exception:  # the database may be briefly unreachable: say so and try again next time
            log.exception("lifecycle pass failed")
        await anyio.sleep(seconds)


def _duties(settings: Settings) -> tuple[Duty, ...]:
    """The lifecycle duties this process runs: all of them, or a shard's (those of one product's
    books, under job names of its own: ``<duty>@<8 hex digits of its base URL's digest>``)."""
    if settings.products is None:
        return DUTIES
    return shard_duties(hashlib.sha256(settings.base_url.encode()).hexdigest()[:8])


def create_app(settings: Settings | None = None, *, clock: Callable[[], datetime] | None = None) -> Litestar:
    """The API over the database of ``settings`` (default: from ``FLOPEX_*``); books open at startup.

    ``clock`` is the exchange's clock (default: the settings' clock, i.e. the wall clock unless
    ``FLOPEX_CLOCK_START`` is set; tests move it to reach expiries and deliveries).
    """
    settings = settings or Settings.from_env()
    if settings.cursor_secret:
        use_cursor_secret(settings.cursor_secret)
    engine = make_engine(settings.database_url)
    exchange = Exchange(
        engine,
        clock=clock or settings.clock(),
        max_open_orders=settings.max_open_orders,
        products=settings.products,
    )

    def resolve(key: str) -> Principal:
        holder = exchange.key_holder(key)
        return Principal(holder.account.id, frozenset(holder.account.roles), frozenset(holder.scopes))

    shared = shares_state(engine)  # per-client state in the database: several processes may serve it
    ctx = ApiContext(
        settings=settings,
        engine=engine,
        exchange=exchange,
        hub=StreamHub(),
        authenticator=Authenticator(resolve, revocations=revocation_counter(engine)),
        orders=OrderBatcher(place_orders_with_changes(exchange)),
        price_budget=TokenBuckets(rate=settings.price_budget / 60.0, burst=settings.price_budget),
        lifecycle=Runner(
            exchange,
            engine,
            duties=_duties(settings),
            elected=() if settings.products is None else elected_duties(),
        ),
        pricing=PricingPool(settings.price_workers, settings.price_timeout),
        cancel_timers=CancelTimers(),
    )

    presence = Presence(settings.base_url) if shared else None
    writing: list[asyncio.Task[None]] = []  # the writer's duties, once this process holds the books

    async def started() -> None:
        timers = ctx.cancel_timers.run(exchange, fired)
        writing.append(asyncio.create_task(timers, name="flopex-cancel-timers"))
        if settings.products is not None:  # a shard: take over the books of shards that die
            adopting = adopt_orphans(exchange, engine, settings.base_url)
            writing.append(asyncio.create_task(adopting, name="flopex-adopt"))
        if settings.lifecycle_seconds > 0:  # a shard's: the duties of its own books (_duties)
            writing.append(asyncio.create_task(run_lifecycle(ctx, settings.lifecycle_seconds)))

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        background: list[asyncio.Task[None]] = []
        if settings.standby:
            background.append(asyncio.create_task(take_over(exchange, started), name="flopex-take-over"))
        else:
            await anyio.to_thread.run_sync(exchange.start)
            await started()
        ctx.orders.start()
        if presence is not None:
            beat = heartbeat(exchange, engine, presence)
            background.append(asyncio.create_task(beat, name="flopex-heartbeat"))
            idle = max(AUTH_FAILURES_PER_MINUTE, settings.rate_burst / max(settings.rate_limit, 1e-9))
            background.append(asyncio.create_task(purge_loop(engine, idle), name="flopex-purge-shared-state"))
        try:
            yield
        finally:
            for task in [*background, *writing]:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if settings.lifecycle_seconds > 0 and writing:
                await anyio.to_thread.run_sync(ctx.lifecycle.stop)
            await ctx.orders.stop()
            ctx.pricing.close()
            exchange.close()
            engine.dispose()

    def shard_of(product: str) -> str | None:
        """The live shard holding ``product``'s books, never this process (None: no live holder)."""
        owner = presence.owner_of(product) if presence is not None else None
        return None if presence is None or owner == presence.url else owner

    def peers() -> set[str]:
        """The other live processes holding books (shards): whose ``orders`` a stream merges in."""
        return set() if presence is None else set(presence.owners.values()) - {presence.url}

    async def prepare_channel(channel: str, account_id: str | None) -> BookState | FeedSnapshot | None:
        kind, _, symbol = channel.partition(".")
        if kind in MIRRORED and exchange.shard_products is not None:  # another shard's book?
            book = symbol.partition(".")[2] if kind == "candles" else symbol
            product = (await call(exchange.instrument, book)).product
            if not exchange.holds(product):
                raise BookElsewhereError(f"another shard holds the book of {book}", product)
        if kind in FEEDS:
            return await feed_snapshot(ctx, channel, account_id)
        if kind == "book":
            return await load_book(ctx, symbol)
        if kind == "trades":
            await start_trades(ctx, symbol)
        elif kind == "orders" and account_id is not None:
            await start_fills(ctx, account_id)
        else:
            await ctx.tick_micros(symbol)  # unknown_instrument for a symbol that does not exist
        return None

    async def fired(sweep: CancelSweep) -> None:
        await announce_cancelled(ctx, sweep.account_id, "cancel_all_after", sweep.orders, sweep.changes)

    async def disconnected(account_id: str) -> None:
        cancelled = await call(exchange.cancel_orders_committed, account_id)
        await announce_cancelled(ctx, account_id, "disconnect", cancelled.value, cancelled.changes)

    app = Litestar(
        route_handlers=[
            health,
            server_time,
            fees,
            me,
            margin_calls,
            risk,
            ClearingAdminController,
            price,
            price_deal,
            stress,
            quote,
            AccountController,
            KeyController,
            ProductController,
            InstrumentController,
            MarketDataController,
            ListingController,
            OrderController,
            HedgeController,
            PortfolioController,
            DeliveryController,
            DeliveryAdminController,
            IndexController,
            AdminController,
            RecoveryController,
            move_books,
            adopt_books,
            PlanController,
            PoolController,
            PoolAdminController,
            BasketController,
            BasketAdminController,
            stream_route(
                prepare_channel,
                disconnected,
                stream_relay(presence, exchange),
                shard_of,
                peers,
                partial(publish_account, ctx),
            ),
            ReportController,
            docs_assets(),
            *ui_routes(),
        ],
        dependencies={
            "ctx": Provide(context_of, sync_to_thread=False),
            "principal": Provide(current_principal, sync_to_thread=False),
        },
        state=State({"ctx": ctx, "presence": presence}),
        exception_handlers={**EXCEPTION_HANDLERS, BookUnavailableError: book_elsewhere},
        middleware=[
            DefineMiddleware(
                IdempotencyMiddleware,
                store=SharedIdempotencyStore(engine) if shared else IdempotencyStore(),
                authenticator=ctx.authenticator,
                max_body=max(MAX_BODY_BYTES, MAX_HEDGE_BYTES, MAX_IMPORT_BYTES),  # routes allowing more
            )
        ],
        before_request=strict_edge,
        lifespan=[lifespan],
        openapi_config=openapi_config(_version()),
        plugins=[ClosedRequestSchemas()],
        request_max_body_size=MAX_BODY_BYTES,
    )
    requests: Budget | None = None
    failures: Budget | None = None
    if settings.rate_limit > 0:
        requests = (
            SharedBuckets(engine, "requests", settings.rate_limit, settings.rate_burst)
            if shared
            else TokenBuckets(rate=settings.rate_limit, burst=settings.rate_burst)
        )
    if shared:
        failures = SharedBuckets(engine, "auth", AUTH_FAILURES_PER_MINUTE / 60.0, AUTH_FAILURES_PER_MINUTE)
    app.asgi_handler = RateLimiter(
        AllowedMethods(app.asgi_handler, app.routes), ctx.authenticator, requests, failures
    )
    if presence is not None:  # outermost: a 429 of the rate limiter carries CORS too, so a page reads it
        app.asgi_handler = PeerCors(app.asgi_handler, presence.peers)
    return app
