"""flopex pricing core: spot models, closed forms, Monte Carlo and LSM for GPU-hour contracts.

A pure library: no database, no HTTP, no global state between calls.
"""
