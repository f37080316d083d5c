"""What several ``flopex serve`` processes on one PostgreSQL share through the database.

One process used to keep idempotency records, rate-limit buckets and its API-key cache to itself;
with several processes behind one address any of them may see a client's next request, so this state
lives in the database (:mod:`market.sharing.state`). The tables are in :mod:`market.sharing.tables`.
See ``docs/scaling.md``.
"""
