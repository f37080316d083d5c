"""flopex pricing core: spot models, closed forms, Monte Carlo and LSM for GPU-hour contracts.

A pure library: no database, no HTTP, no global state between calls. The entry points are
``price`` (one JSON request), ``price_many`` (a batch, over processes), ``RequestError`` (an invalid
request) and its subclass ``NotComputableError`` (a valid request that cannot be valued accurately).
"""

from pricing.batch import price_many
from pricing.calibration import calibrate
from pricing.dispatch import price
from pricing.request import NotComputableError, RequestError

__all__ = ["NotComputableError", "RequestError", "calibrate", "price", "price_many"]
