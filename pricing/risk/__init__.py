"""Risk measures over a book of GPU-hour positions: the margin scan, VaR and ES, stress, backtests.

Pure and vectorised (numpy): no database, no clock. The market's clearing house (``market.clearing``)
turns its positions into :class:`~pricing.risk.book.Exposure` rows and asks this room for margins and
reports; ``flopex risk backtest`` scores the VaR models on a real price series.
"""

from pricing.risk.book import Book, Exposure
from pricing.risk.scan import ScanParameters, ScanResult, scan

__all__ = ["Book", "Exposure", "ScanParameters", "ScanResult", "scan"]
