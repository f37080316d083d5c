"""flopex exchange domain: instruments, order books, listings, ledger, settlement, persistence."""
