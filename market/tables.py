"""SQLModel tables of the exchange; importing this module registers them on ``SQLModel.metadata``."""
