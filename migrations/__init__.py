"""Alembic migrations: one per change, each revertible."""
