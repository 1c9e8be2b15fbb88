"""The checks an order must pass before the MarketWorkflow records it (pure, deterministic)."""

from __future__ import annotations

import re

from models.trading import CLIENT_ORDER_ID_PATTERN, PlaceOrderRequest

MICRO = 1_000_000
MAX_COUNT = 1_000_000
_CLIENT_ORDER_ID = re.compile(CLIENT_ORDER_ID_PATTERN)


class OrderRuleError(ValueError):
    pass


def check_order(request: PlaceOrderRequest, tick: int, now_us: int) -> None:
    """Raise OrderRuleError with a message a trader understands, or return None."""
    if request.count <= 0:
        raise OrderRuleError("count must be a positive number of contracts")
    if request.count > MAX_COUNT:
        raise OrderRuleError(f"count must be at most {MAX_COUNT}")
    if request.type == "limit" and request.price is None:
        raise OrderRuleError("a limit order needs a price")
    if request.price is not None:
        if not 0 < request.price < MICRO:
            raise OrderRuleError("price must be strictly between 0 and 1")
        if request.price % tick:
            raise OrderRuleError(f"price must be a multiple of the tick ({tick / MICRO:g})")
    if request.type == "market" and request.post_only:
        raise OrderRuleError("a market order cannot be post-only")
    if request.time_in_force == "gtd":
        if request.expires_at_us is None:
            raise OrderRuleError("a GTD order needs expires_at")
        if request.expires_at_us <= now_us:
            raise OrderRuleError("expires_at must be in the future")
    elif request.expires_at_us is not None:
        raise OrderRuleError("expires_at is only allowed with time_in_force gtd")
    if request.max_cost is not None and request.max_cost <= 0:
        raise OrderRuleError("max_cost must be positive")
    if request.client_order_id is not None and not _CLIENT_ORDER_ID.match(request.client_order_id):
        raise OrderRuleError("client_order_id is 1-64 letters, digits or . _ : -")
