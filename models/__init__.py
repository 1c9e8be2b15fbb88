"""Table models (SQLModel) and the messages that cross a boundary (API bodies, workflow inputs)."""
