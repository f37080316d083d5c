"""The death-spiral lab: agent-based stress tests over the real matching engine and clearing rules.

Everything lives in memory (no database) and is deterministic per seed. Agents (:mod:`.agents`) send
commands to a real :class:`market.engine.MatchingEngine`; an in-memory exchange (:mod:`.exchange`)
books the fills on a double-entry ledger (:mod:`.ledger`) and runs the clearing house's own rules --
variation margin, portfolio margin, margin calls, banded liquidation slices, the default fund and its
waterfall -- by calling the pure functions of :mod:`market.clearing` and :mod:`pricing.risk`. Shocks
(:mod:`.shocks`) come from the pricing models and the named stress scenarios; a scenario
(:mod:`.scenario`) fixes the population, the shock and the mitigations; :mod:`.simulation` runs it with
the feedback loops on and again as the control, and :mod:`.measures` turns the two runs into metrics
(amplification, forced sales, fund usage, basket premium). The model is described in docs/stress.md.
"""
