"""Rolling-origin backtests of the spot models against realised prices.

``run(series, models, ...)`` returns a :class:`BacktestResult` (``.metrics``, ``.forecasts``,
``.ranking``, ``.plot(kind)``, ``.save(dir)``). Models are names of :mod:`pricing.models` or any
object following :class:`ForecastModel`. See docs/backtesting.md.
"""

from pricing.backtest.protocol import AnchoredModel, CalibratedModel, Fitted, ForecastModel
from pricing.backtest.result import BacktestResult
from pricing.backtest.runner import run

__all__ = ["AnchoredModel", "BacktestResult", "CalibratedModel", "Fitted", "ForecastModel", "run"]
