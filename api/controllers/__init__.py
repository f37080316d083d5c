"""HTTP controllers, one module per resource; each stays thin and delegates to the exchange service."""
