"""The double-entry ledger, in integer micro-dollars.

Every movement takes an amount out of one bucket and puts it into another, so the entries of every
transfer sum to zero and so does the whole ledger. A bucket belongs to an owner: each account has
``available`` (free cash), ``reserved`` (held for resting orders), ``margin`` (held against open
positions) and ``collateral`` (a provider's performance collateral, posted with its listings); the
exchange (owner ``SYSTEM``) has ``escrow`` (buyers' cash owed to providers until delivery),
``fees``, ``settlement`` (the counterparty of cash settlement and variation margin), ``external``
(the world outside: deposits come from it, withdrawals go to it), ``default_fund`` (the members'
contributions) and ``capital`` (the exchange's own capital committed to the default waterfall). Only
``settlement`` and ``external`` may go negative; the ``balances`` table enforces that with a CHECK
constraint as a last line of defence.
Entries are immutable: corrections are new transfers.
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa

from market.errors import BalanceLimitError, InsufficientFundsError
from market.tables import Balance, Entry, Transfer
from market.units import MAX_MICROS, micros_to_dollars

SYSTEM = "exchange"
AVAILABLE, RESERVED, MARGIN, COLLATERAL = "available", "reserved", "margin", "collateral"
ESCROW, FEES, SETTLEMENT, EXTERNAL = "escrow", "fees", "settlement", "external"
DEFAULT_FUND, CAPITAL = "default_fund", "capital"
USER_BUCKETS = (AVAILABLE, RESERVED, MARGIN, COLLATERAL)
SYSTEM_BUCKETS = {  # bucket -> may go negative
    ESCROW: False,
    FEES: False,
    SETTLEMENT: True,
    EXTERNAL: True,
    DEFAULT_FUND: False,
    CAPITAL: False,
}

Bucket = tuple[str, str]  # (owner, bucket)

_balances = Balance.__table__
_entries = Entry.__table__
_transfers = Transfer.__table__


def bucket_rows(owner: str) -> list[dict[str, object]]:
    """The balance rows a new owner starts with (all zero)."""
    if owner == SYSTEM:
        return [
            {"owner": SYSTEM, "bucket": b, "amount": 0, "allow_negative": negative}
            for b, negative in SYSTEM_BUCKETS.items()
        ]
    return [{"owner": owner, "bucket": b, "amount": 0, "allow_negative": False} for b in USER_BUCKETS]


class Ledger:
    """The ledger as seen from inside one database transaction.

    Reads balances once (locking the rows on PostgreSQL so two writers cannot both spend the same
    cash), tracks pending movements on top, and :meth:`post` writes them as one transfer.
    """

    def __init__(self, connection: sa.Connection, now_us: int) -> None:
        self._connection = connection
        self.now_us = now_us
        self._cache: dict[Bucket, tuple[int, bool]] = {}
        self._pending: list[tuple[str, str, int]] = []
        self._transfers: list[tuple[dict[str, object], list[tuple[str, str, int]]]] = []

    def balance(self, owner: str, bucket: str) -> int:
        """The balance including movements not yet posted."""
        return self._row((owner, bucket))[0]

    def preload(self, owners: list[str]) -> None:
        """Read (and lock) every bucket of ``owners`` in one query: a pass over many accounts would
        otherwise read them one by one."""
        wanted = [o for o in owners if (o, AVAILABLE) not in self._cache]
        for start in range(0, len(wanted), 500):
            rows = self._connection.execute(
                sa.select(
                    _balances.c.owner, _balances.c.bucket, _balances.c.amount, _balances.c.allow_negative
                )
                .where(_balances.c.owner.in_(wanted[start : start + 500]))
                .with_for_update()
            )
            for row in rows:
                self._cache.setdefault((row.owner, row.bucket), (int(row.amount), bool(row.allow_negative)))

    def _row(self, key: Bucket) -> tuple[int, bool]:
        if key not in self._cache:
            row = self._connection.execute(
                sa.select(_balances.c.amount, _balances.c.allow_negative)
                .where(_balances.c.owner == key[0], _balances.c.bucket == key[1])
                .with_for_update()
            ).one_or_none()
            if row is None:
                raise KeyError(f"no ledger bucket {key}")
            self._cache[key] = (int(row.amount), bool(row.allow_negative))
        return self._cache[key]

    def move(self, source: Bucket, target: Bucket, amount: int, what: str = "cash") -> None:
        """Move ``amount`` micro-dollars from ``source`` to ``target``; refuses to overdraw and to take
        any balance past +/- ``MAX_MICROS`` (so no balance can leave a 64-bit column, on any database,
        and no sum of balances either: all money enters through the bounded ``external`` bucket)."""
        if amount == 0:
            return
        if amount < 0:
            source, target, amount = target, source, -amount
        have, may_go_negative = self._row(source)
        if have < amount and not may_go_negative:
            needs, holds = micros_to_dollars(amount), micros_to_dollars(have)
            raise InsufficientFundsError(f"{what} needs USD {needs}, {source[1]} holds USD {holds}")
        tgt_amount, tgt_neg = self._row(target)
        if amount > MAX_MICROS or have - amount < -MAX_MICROS or tgt_amount + amount > MAX_MICROS:
            raise BalanceLimitError(
                f"{what} of USD {micros_to_dollars(amount)} would take a balance past the limit of "
                f"USD {micros_to_dollars(MAX_MICROS)}"
            )
        self._cache[source] = (have - amount, may_go_negative)
        self._cache[target] = (tgt_amount + amount, tgt_neg)
        self._pending.append((source[0], source[1], -amount))
        self._pending.append((target[0], target[1], amount))

    def post(
        self,
        kind: str,
        *,
        account_id: str | None = None,
        ref: str | None = None,
        idempotency_key: str | None = None,
        request_hash: str | None = None,
    ) -> bool:
        """Close the pending movements into one transfer (written by :meth:`flush`); False if none."""
        if not self._pending:
            return False
        meta = {
            "kind": kind,
            "account_id": account_id,
            "ref": ref,
            "idempotency_key": idempotency_key,
            "request_hash": request_hash,
            "created_us": self.now_us,
        }
        self._transfers.append((meta, self._pending))
        self._pending = []
        return True

    def flush(self) -> list[int]:
        """Write the posted transfers, their entries and the balance changes; returns the transfer ids."""
        if self._pending:
            raise RuntimeError("unposted ledger movements")
        if not self._transfers:
            return []
        ids = [
            int(row.id)
            for row in self._connection.execute(
                _transfers.insert().returning(_transfers.c.id, sort_by_parameter_order=True),
                [meta for meta, _ in self._transfers],
            )
        ]
        entries = []
        deltas: dict[Bucket, int] = defaultdict(int)
        for transfer_id, (_, legs) in zip(ids, self._transfers, strict=True):
            for owner, bucket, amount in legs:
                entries.append(
                    {"transfer_id": transfer_id, "owner": owner, "bucket": bucket, "amount": amount}
                )
                deltas[owner, bucket] += amount
        self._connection.execute(_entries.insert(), entries)
        changed = [{"o": o, "b": b, "d": d} for (o, b), d in deltas.items() if d]
        if changed:
            self._connection.execute(
                _balances.update()
                .where(_balances.c.owner == sa.bindparam("o"), _balances.c.bucket == sa.bindparam("b"))
                .values(amount=_balances.c.amount + sa.bindparam("d")),
                changed,
            )
        self._transfers.clear()
        return ids
