"""Securitised pools on the exchange: a sponsor pools its listings, the pool issues tranched notes
that trade on books, and each period the pool's actual cash runs through the pricing library's
waterfall (:func:`pricing.securitization.waterfall.run`) to pay the noteholders (docs/securitization.md).

- :mod:`~market.securitization.tables`: the pools' tables;
- :mod:`~market.securitization.records`: the records the use cases return;
- :mod:`~market.securitization.notes`: the note instruments, their conventions and their issue;
- :mod:`~market.securitization.pools`: forming a pool, usage reports, reads;
- :mod:`~market.securitization.collections`: what a period owes the pool (escrow, index revenue);
- :mod:`~market.securitization.servicing`: one period through the waterfall, paid by the ledger;
- :mod:`~market.securitization.reports`: a pool's periods, payments, triggers and its conservation.
"""
