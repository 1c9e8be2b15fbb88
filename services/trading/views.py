"""Turning engine states and database rows into the API's views."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from engine import MICRO, Fill, OrderState, Side
from models.money import format_money, format_optional
from models.trading import FillView, MarketView, OrderView


def us_to_datetime(us: int | None) -> datetime | None:
    return None if us is None else datetime.fromtimestamp(us / 1_000_000, tz=UTC)


def datetime_to_us(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    return int(moment.timestamp() * 1_000_000)


def own_price(yes_price: int, side: str) -> int:
    return yes_price if side == Side.YES else MICRO - yes_price


def fill_views_of(order_id: str, fills: list[Fill], at: datetime) -> list[FillView]:
    """The fills one order took part in, from the engine's fills of a batch."""
    views = []
    for f in fills:
        if f.taker_order_id == order_id:
            views.append(
                FillView(
                    id=f"{f.trade_id}:t",
                    price=format_money(f.taker_price),
                    count=f.count,
                    fee=format_money(f.taker_fee),
                    is_taker=True,
                    kind=f.kind.value,
                    created_at=at,
                )
            )
        elif f.maker_order_id == order_id:
            views.append(
                FillView(
                    id=f"{f.trade_id}:m",
                    price=format_money(f.maker_price),
                    count=f.count,
                    fee=format_money(f.maker_fee),
                    is_taker=False,
                    kind=f.kind.value,
                    created_at=at,
                )
            )
    return views


def order_view_from_state(
    state: OrderState,
    *,
    market_id: str,
    client_order_id: str | None,
    created_at: datetime,
    fills: list[FillView],
) -> OrderView:
    avg = state.avg_fill_price
    return OrderView(
        id=state.order_id,
        market_id=market_id,
        user_id=state.user_id,
        action=state.action.value,
        side=state.side.value,
        type=state.type.value,
        time_in_force=state.time_in_force.value,
        price=format_money(state.price),
        count=state.count,
        filled_count=state.filled_count,
        remaining_count=state.remaining_count,
        status=state.status.value,
        reason=state.reason,
        avg_fill_price=format_optional(avg),
        fees=format_money(state.fees_paid),
        fills=fills,
        client_order_id=client_order_id,
        post_only=state.post_only,
        reduce_only=state.reduce_only,
        expires_at=us_to_datetime(state.expires_at),
        created_at=created_at,
    )


ORDER_COLUMNS = (
    "id, market_id, user_id, action, side, type, time_in_force, yes_price, count, filled_count, "
    "remaining_count, filled_notional, status, reason, taker_fees, maker_fees, client_order_id, "
    "post_only, reduce_only, expires_at, created_at"
)


def order_view_from_row(row: Any, fills: list[FillView]) -> OrderView:
    m = row._mapping
    filled = int(m["filled_count"])
    return OrderView(
        id=m["id"],
        market_id=str(m["market_id"]),
        user_id=str(m["user_id"]),
        action=m["action"],
        side=m["side"],
        type=m["type"],
        time_in_force=m["time_in_force"],
        price=format_money(own_price(int(m["yes_price"]), m["side"])),
        count=int(m["count"]),
        filled_count=filled,
        remaining_count=int(m["remaining_count"]),
        status=m["status"],
        reason=m["reason"],
        avg_fill_price=format_money(int(m["filled_notional"]) // filled) if filled else None,
        fees=format_money(int(m["taker_fees"]) + int(m["maker_fees"])),
        fills=fills,
        client_order_id=m["client_order_id"],
        post_only=m["post_only"],
        reduce_only=m["reduce_only"],
        expires_at=m["expires_at"],
        created_at=m["created_at"],
    )


def fill_view_from_row(row: Any) -> FillView:
    m = row._mapping
    return FillView(
        id=m["id"],
        price=format_money(int(m["price"])),
        count=int(m["count"]),
        fee=format_money(int(m["fee"])),
        is_taker=m["is_taker"],
        kind=m["kind"],
        created_at=m["created_at"],
    )


def _rate(value: Any) -> str:
    text = format(value.normalize(), "f") if hasattr(value, "normalize") else str(value)
    return text


MARKET_COLUMNS = (
    "id, event_id, title, description, rules, status, open_time, close_time, tick_size, "
    "taker_fee_rate, maker_fee_rate, amm_liquidity, dispute_window_seconds, last_price, best_bid, "
    "best_ask, volume, open_interest, outcome, settlement_value, created_at"
)


def market_view_from_row(row: Any) -> MarketView:
    m = row._mapping
    return MarketView(
        id=str(m["id"]),
        event_id=None if m["event_id"] is None else str(m["event_id"]),
        title=m["title"],
        description=m["description"],
        rules=m["rules"],
        status=m["status"],
        open_time=m["open_time"],
        close_time=m["close_time"],
        tick_size=format_money(int(m["tick_size"])),
        taker_fee_rate=_rate(m["taker_fee_rate"]),
        maker_fee_rate=_rate(m["maker_fee_rate"]),
        amm_liquidity=format_optional(m["amm_liquidity"]),
        dispute_window_seconds=int(m["dispute_window_seconds"]),
        last_price=format_optional(m["last_price"]),
        best_bid=format_optional(m["best_bid"]),
        best_ask=format_optional(m["best_ask"]),
        volume=int(m["volume"]),
        open_interest=int(m["open_interest"]),
        outcome=m["outcome"],
        settlement_value=format_optional(m["settlement_value"]),
        created_at=m["created_at"],
    )
