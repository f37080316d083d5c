"""Basket funds on the exchange: a unit that holds a fixed strip of cash-settled forwards, its NAV from
the marks, creation and redemption by authorised participants, and its winding up (docs/baskets.md).

The arithmetic (NAV, fees, creation and redemption cash) is :mod:`market.basket`'s, shared with the
stress lab (:mod:`market.lab`); these modules put it on the database:

- :mod:`~market.baskets.tables`: the funds' tables;
- :mod:`~market.baskets.records`: the records the use cases return;
- :mod:`~market.baskets.funds`: defining a fund (its unit instrument and account), participants, reads;
- :mod:`~market.baskets.valuation`: the fund's equity and NAV at the strip's marks, the unit's
  look-through margin, the NAV history;
- :mod:`~market.baskets.flows`: creation and redemption, in kind or in cash;
- :mod:`~market.baskets.windup`: paying the holders out once the strip has settled.
"""
