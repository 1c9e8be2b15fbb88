"""Thin Temporal adapters over services/, one module per service."""
