"""Spot models for a non-storable, mean-reverting, jumpy commodity (see DESIGN.md).

Each model is an immutable parameter set with its closed-form forward curve and exact path
simulation on arbitrary time grids.
"""

from pricing.models.arithmetic_ou import ArithmeticOU
from pricing.models.gbm import GBM
from pricing.models.jump_ou import JumpOU
from pricing.models.schwartz1f import Schwartz1F
from pricing.models.schwartz_smith import SchwartzSmith
from pricing.models.seasonality import Seasonality, SeasonalTerm

Model = GBM | Schwartz1F | SchwartzSmith | ArithmeticOU | JumpOU
LogGaussianModel = GBM | Schwartz1F | SchwartzSmith
"""Models whose log spot is a Gaussian process (``log_mean``, ``log_covariance``)."""

__all__ = [
    "GBM",
    "ArithmeticOU",
    "JumpOU",
    "LogGaussianModel",
    "Model",
    "Schwartz1F",
    "SchwartzSmith",
    "SeasonalTerm",
    "Seasonality",
]
