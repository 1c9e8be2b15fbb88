"""Typed errors raised by the trade engine; ``code`` goes straight into the API error body."""

from __future__ import annotations

INVALID_REQUEST = "invalid_request"
INSUFFICIENT_FUNDS = "insufficient_funds"
INSUFFICIENT_POSITION = "insufficient_position"
WOULD_TAKE = "would_take"
ORDER_NOT_FOUND = "order_not_found"
ORDER_EXPIRED = "order_expired"
DUPLICATE_ORDER = "duplicate_order"


class EngineError(Exception):
    """A request the engine refuses; raising it never changes engine state."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"EngineError({self.code!r}, {self.message!r})"
