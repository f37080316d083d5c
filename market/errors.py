"""Failures of the exchange, each with a stable machine-readable ``code``.

The API maps ``code`` to an HTTP status (see ``HTTP_STATUS``) and echoes ``field`` so that clients
never parse messages. Codes are part of the public contract: add new ones, never rename.
"""

from __future__ import annotations


class MarketError(Exception):
    """Base class: a request the market refuses; ``code`` is stable, ``message`` is for humans."""

    code = "market_error"
    status = 400

    def __init__(self, *args: str, field: str | None = None) -> None:
        """``MarketError(code, message, field=None)``; subclasses take ``(message, field=None)``."""
        if type(self) is MarketError or len(args) == 2:
            code, message = args
            self.code = code
        else:
            (message,) = args
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class InvalidRequestError(MarketError):
    """A malformed or contradictory request (bad window, unknown option, wrong type)."""

    code = "invalid_request"


class InvalidAmountError(InvalidRequestError):
    """A money or price string that is not a finite decimal of the right precision and range."""

    code = "invalid_amount"


class OffTickError(InvalidRequestError):
    """A price that is not a whole number of the instrument's ticks."""

    code = "off_tick"


class InvalidQuantityError(InvalidRequestError):
    """A quantity that is not a positive whole number of lots."""

    code = "invalid_quantity"


class InvalidSymbolError(InvalidRequestError):
    """A symbol that does not parse."""

    code = "invalid_symbol"


class InvalidWindowError(InvalidRequestError):
    """A time window whose end is not after its start (or that spans too much)."""

    code = "invalid_window"


class NoMarkError(InvalidRequestError):
    """A margined instrument (or a fair-value offer) needs a mark, and its product has no fixings yet."""

    code = "no_mark"


class OrderRejectedError(MarketError):
    """The matching engine refused the command; ``code`` is the engine's reason
    (e.g. ``post_only_would_take``)."""

    code = "order_rejected"


class NotFoundError(MarketError):
    """No such object, or it belongs to another account (never reveal which)."""

    code = "not_found"
    status = 404


class UnknownInstrumentError(NotFoundError):
    """No instrument with that symbol."""

    code = "unknown_instrument"


class UnauthorizedError(MarketError):
    """A missing, unknown or revoked API key."""

    code = "unauthorized"
    status = 401


class ForbiddenError(MarketError):
    """The account's roles do not allow this action."""

    code = "forbidden"
    status = 403


class ConflictError(MarketError):
    """The request clashes with stored state."""

    code = "conflict"
    status = 409


class AlreadyExistsError(ConflictError):
    """An object with that identity exists already."""

    code = "already_exists"


class DuplicateClientOrderIdError(ConflictError):
    """The ``client_order_id`` was used before for a different order."""

    code = "duplicate_client_order_id"


class IdempotencyKeyReusedError(ConflictError):
    """The idempotency key was used before for a different request."""

    code = "idempotency_key_reused"


class InstrumentNotOpenError(ConflictError):
    """The instrument is halted, expired or settled."""

    code = "instrument_not_open"


class OrderClosedError(ConflictError):
    """The order is filled, cancelled, expired or rejected: nothing left to cancel or amend."""

    code = "order_closed"


class InstrumentClosedError(ConflictError):
    """The instrument is expired or settled; its status can no longer be set by hand."""

    code = "instrument_closed"


class InsufficientFundsError(ConflictError):
    """Available cash does not cover the reservation, premium or margin."""

    code = "insufficient_funds"


class BalanceLimitError(ConflictError):
    """A movement would take a ledger balance past the bound every balance keeps (``MAX_MICROS``)."""

    code = "balance_limit_exceeded"


class OpenOrderLimitError(ConflictError):
    """The account already holds as many open orders as it may (``FLOPEX_MAX_OPEN_ORDERS``)."""

    code = "open_order_limit_exceeded"


class OutOfRangeError(MarketError):
    """A value the database refused as out of range (a sum past its column's integer size): the whole
    transaction was rolled back, nothing was written."""

    code = "value_out_of_range"
    status = 422


class InsufficientDepthError(ConflictError):
    """The books cannot fill a fund's strip trade within its limits (a basket's cash creation or
    redemption is refused whole)."""

    code = "insufficient_depth"


class InventoryExceededError(ConflictError):
    """A sell on a physical forward exceeds the provider's unsold listed capacity, or a listing
    reduction would go below what is sold or reserved."""

    code = "inventory_exceeded"


class DeliveryDayClosedError(ConflictError):
    """A delivery day that cannot take this step now: not started, already decided, or past its window."""

    code = "delivery_day_closed"


class MarginCallError(ConflictError):
    """The account has an open margin call: only orders that reduce its positions are accepted."""

    code = "margin_call"


class ReduceOnlyError(ConflictError):
    """A reduce-only order would not reduce the account's position (wrong side, or too large)."""

    code = "reduce_only"


class BookMoveRefusedError(ConflictError):
    """A planned move of a product's books between shards cannot be done as asked (not a shard, the
    target is not a live shard, the target would not take them, another process holds them); the
    books stay where they were."""

    code = "book_move_refused"


class BookUnavailableError(MarketError):
    """The book is owned by another service instance or failed its recovery check."""

    code = "book_unavailable"
    status = 503


class BookElsewhereError(BookUnavailableError):
    """The book belongs to a product another shard holds (``product``): the API answers ``421
    book_elsewhere`` naming that shard, or ``503 book_moving`` while no live process holds it."""

    def __init__(self, message: str, product: str) -> None:
        super().__init__(message, field="symbol")
        self.product = product


class BasketAcrossShardsError(ConflictError):
    """A basket whose legs are in books of several shards (``flopex serve --products``): its creation
    and its cash flows trade every leg in one all-or-nothing transaction, which one shard cannot do in
    another's books. Nothing was done; define baskets within one shard's products."""

    code = "basket_across_shards"


class ClearingElsewhereError(MarketError):
    """A clearing pass was asked of a shard that is not the elected clearing process: another shard
    holds the clearing lock and runs the pass (``market.clearing.outbox``); nothing was done."""

    code = "clearing_elsewhere"
    status = 409


class DatabaseBusyError(MarketError):
    """The database could not take the transaction in time (a lock held past the busy timeout, a
    serialization conflict or a deadlock): it was rolled back, nothing was written, and the same
    request may be sent again."""

    code = "database_busy"
    status = 503


class RecoveryMismatchError(BookUnavailableError):
    """Rebuilding a book from the database did not reproduce the stored state."""

    code = "recovery_mismatch"


HTTP_STATUS: dict[str, int] = {}
"""``code`` -> HTTP status for every error class defined here."""


def _register(cls: type[MarketError]) -> None:
    HTTP_STATUS[cls.code] = cls.status
    for sub in cls.__subclasses__():
        _register(sub)


_register(MarketError)
