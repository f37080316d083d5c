"""Monte Carlo valuation: samplers, variance reduction and the ``price_mc`` entry point.

See the module docstrings of ``samplers`` (pseudo-random and scrambled Sobol with a Brownian
bridge), ``payoffs`` (payoffs and control variates), ``estimator`` (control-variate regression and
standard errors) and ``engine`` (chunking, antithetics, common random numbers).
"""

from pricing.montecarlo.engine import price_mc
from pricing.montecarlo.result import MCResult

__all__ = ["MCResult", "price_mc"]
