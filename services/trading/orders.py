"""Orders and positions as their owners read them."""

from __future__ import annotations

import base64
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection

from core.db import sql
from engine import MICRO
from models.money import format_money, format_optional
from models.trading import OrderView, Page
from services.trading.batches import order_views


class CursorError(ValueError):
    pass


def encode_cursor(created_at: datetime, order_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{order_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created, order_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(created), order_id
    except ValueError as exc:
        raise CursorError("cursor is not one this API gave out") from exc


async def order_of(conn: AsyncConnection, order_id: str) -> tuple[int, int, str] | None:
    """(market id, owner id, status) of an order."""
    row = (
        await conn.execute(
            sql("SELECT market_id, user_id, status FROM orders WHERE id = :id"), {"id": order_id}
        )
    ).one_or_none()
    return None if row is None else (int(row[0]), int(row[1]), row[2])


async def markets_with_resting_orders(conn: AsyncConnection, user_id: int) -> list[int]:
    rows = await conn.execute(
        sql(
            "SELECT DISTINCT market_id FROM orders WHERE user_id = :u AND status = 'resting' "
            "ORDER BY market_id"
        ),
        {"u": user_id},
    )
    return [int(m) for (m,) in rows]


async def one_order(conn: AsyncConnection, order_id: str) -> OrderView | None:
    return (await order_views(conn, [order_id])).get(order_id)


async def my_orders(
    conn: AsyncConnection,
    user_id: int,
    *,
    status: str | None,
    market_id: int | None,
    limit: int,
    cursor: str | None,
) -> Page[OrderView]:
    after = decode_cursor(cursor) if cursor else None
    rows = (
        await conn.execute(
            sql(
                """
                SELECT id, created_at FROM orders
                WHERE user_id = :u
                  AND (CAST(:status AS text) IS NULL OR status = :status)
                  AND (CAST(:market AS bigint) IS NULL OR market_id = :market)
                  AND (CAST(:after_at AS timestamptz) IS NULL
                       OR (created_at, id) < (:after_at, :after_id))
                ORDER BY created_at DESC, id DESC LIMIT :limit
                """
            ),
            {
                "u": user_id,
                "status": status,
                "market": market_id,
                "after_at": after[0] if after else None,
                "after_id": after[1] if after else None,
                "limit": limit + 1,
            },
        )
    ).all()
    page = rows[:limit]
    views = await order_views(conn, [r.id for r in page])
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if len(rows) > limit else None
    return Page[OrderView](items=[views[r.id] for r in page], next_cursor=next_cursor)


class PositionView(BaseModel):
    market_id: str
    side: str
    count: int
    avg_price: str | None
    cost: str
    mark_price: str | None
    unrealized_pnl: str | None
    realized_pnl: str
    fees_paid: str


async def my_positions(conn: AsyncConnection, user_id: int) -> list[PositionView]:
    """Open positions (and closed ones with realized P&L), marked at the market's YES price:
    the last trade, else the middle of the book."""
    rows = await conn.execute(
        sql(
            """
            SELECT p.market_id, p.position, p.cost, p.realized_pnl, p.fees_paid, m.last_price,
                   m.best_bid, m.best_ask, m.status, m.settlement_value
            FROM positions p JOIN markets m ON m.id = p.market_id
            WHERE p.user_id = :u AND (p.position <> 0 OR p.realized_pnl <> 0)
            ORDER BY p.market_id
            """
        ),
        {"u": user_id},
    )
    views = []
    for r in rows:
        count = abs(int(r.position))
        side = "yes" if int(r.position) >= 0 else "no"
        yes_mark = _yes_mark(r.last_price, r.best_bid, r.best_ask, r.settlement_value)
        mark = None if yes_mark is None else (yes_mark if side == "yes" else MICRO - yes_mark)
        cost = int(r.cost)
        views.append(
            PositionView(
                market_id=str(r.market_id),
                side=side,
                count=count,
                avg_price=format_money(cost // count) if count else None,
                cost=format_money(cost),
                mark_price=format_optional(mark),
                unrealized_pnl=None if mark is None else format_money(mark * count - cost),
                realized_pnl=format_money(int(r.realized_pnl)),
                fees_paid=format_money(int(r.fees_paid)),
            )
        )
    return views


def _yes_mark(
    last: int | None, bid: int | None, ask: int | None, settlement: int | None
) -> int | None:
    if settlement is not None:
        return int(settlement)
    if last is not None:
        return int(last)
    if bid is not None and ask is not None:
        return (int(bid) + int(ask)) // 2
    return None
