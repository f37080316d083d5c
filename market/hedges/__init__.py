"""The buyer's desk at the exchange: a hedge plan turned into orders, tracked and re-planned.

:mod:`market.hedges.cases` holds the use cases, :mod:`market.hedges.placing` the limits, the means
check and the rounds of orders, :mod:`market.hedges.planning` the planner over the live market,
:mod:`market.hedges.reads` the hedge as the books and trades left it. See docs/hedging.md.
"""
