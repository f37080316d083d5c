"""The lab's double-entry ledger: the exchange's buckets in memory, in integer micro-dollars.

It has the interface the clearing rules use from :class:`market.ledger.Ledger` (``balance``, ``move``,
``post``) and the same buckets and overdraft rules (only the exchange's ``settlement`` and
``external`` may go negative), so :func:`market.clearing.variation.settle_to_mark` and
:func:`market.clearing.portfolio.hold` run on it unchanged.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from market.ledger import SYSTEM, SYSTEM_BUCKETS, Bucket


class OverdraftError(Exception):
    """A movement would take a bucket that may not go negative below zero: a bug in the lab."""


class LabLedger:
    """Balances per ``(owner, bucket)`` and a count of posted transfers per kind."""

    def __init__(self) -> None:
        self._balances: dict[Bucket, int] = defaultdict(int)
        self.posted: Counter[str] = Counter()

    def balance(self, owner: str, bucket: str) -> int:
        """The bucket's balance (zero if it never moved)."""
        return self._balances.get((owner, bucket), 0)

    def move(self, source: Bucket, target: Bucket, amount: int, what: str = "cash") -> None:
        """Move ``amount`` from ``source`` to ``target`` (a negative amount moves the other way)."""
        if amount == 0:
            return
        if amount < 0:
            source, target, amount = target, source, -amount
        have = self._balances[source]
        if have < amount and not (source[0] == SYSTEM and SYSTEM_BUCKETS.get(source[1], False)):
            raise OverdraftError(f"{what}: {source} holds {have}, needs {amount}")
        self._balances[source] = have - amount
        self._balances[target] += amount

    def post(self, kind: str, account_id: str | None = None, ref: str | None = None) -> None:
        """Close the movements since the last post as one transfer of ``kind``."""
        self.posted[kind] += 1

    def total(self) -> int:
        """The sum of every balance: zero, always (money only moves)."""
        return sum(self._balances.values())

    def negatives(self) -> list[Bucket]:
        """Buckets below zero that may not be."""
        return [
            key
            for key, amount in self._balances.items()
            if amount < 0 and not (key[0] == SYSTEM and SYSTEM_BUCKETS.get(key[1], False))
        ]
