"""Closed forms (exact values where the law is known) and QuantLib reference engines.

``pricing.analytic.quantlib`` imports QuantLib and is loaded only when a request asks for it.
"""

from pricing.analytic.closed_form import closed_form_gap, price_closed_form

__all__ = ["closed_form_gap", "price_closed_form"]
