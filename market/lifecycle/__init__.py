"""The lifecycle: the duties that keep the market moving without anyone calling an admin endpoint.

- :mod:`market.lifecycle.schedule` -- the product configuration (:class:`SeriesPlan`: which series are
  listed, which options, how old the index may get) and when each duty is next due;
- :mod:`market.lifecycle.jobs` -- the durable job table (last run, outcome, next run, lease);
- :mod:`market.lifecycle.duties` -- the duties, each one call of the exchange's use cases;
- :mod:`market.lifecycle.runner` -- runs what is due, in order, catching up on whatever was missed.
"""
