"""Compute securitization: a pool of provider capacity, its cash on Monte Carlo paths, a waterfall
that pays tranched notes, and the notes' analytics (docs/securitization.md).

- :mod:`~pricing.securitization.deal`: the JSON deal format, validated (``parse_deal``, ``decode_deal``);
- :mod:`~pricing.securitization.pool`: the pool's cash on joint paths of the index, utilisation,
  generation shocks and provider defaults (``simulate``);
- :mod:`~pricing.securitization.waterfall`: the priority of payments, vectorised over paths (``run``);
- :mod:`~pricing.securitization.reference`: the same rules path by path, the tests' reference;
- :mod:`~pricing.securitization.analytics`: prices, yields, losses, WAL, duration, sensitivities,
  scenarios (``analyse``);
- :mod:`~pricing.securitization.vasicek`: the large-homogeneous-pool closed form.
"""

from pricing.securitization.analytics import DealAnalysis, analyse
from pricing.securitization.deal import Deal, DealError, decode_deal, parse_deal

__all__ = ["Deal", "DealAnalysis", "DealError", "analyse", "decode_deal", "parse_deal"]
