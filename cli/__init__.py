"""The `oddsmith` command."""
