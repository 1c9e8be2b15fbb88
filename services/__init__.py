"""One package per service: its database access and its business operations."""
