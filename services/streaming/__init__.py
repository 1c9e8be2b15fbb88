"""The streaming service."""
