"""The clearing house: variation margin, portfolio margin, margin calls, liquidation, the default fund.

One re-margining pass (:func:`market.clearing.remargin.run`, in one database transaction) marks every
margined instrument, pays variation margin, sets each account's portfolio initial margin from the scan
of :mod:`pricing.risk.scan`, opens and closes margin calls, liquidates accounts past their deadline,
resizes the default fund and runs any loss an account cannot pay through the default waterfall. The
method, parameters and figures are in docs/clearing.md.
"""
