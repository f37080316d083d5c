"""Alembic migrations of the flopex schema (SQLite in batch mode, PostgreSQL)."""
