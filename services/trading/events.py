"""Events: groups of mutually exclusive markets, resolved together (one winner YES, the rest NO)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from core.db import sql
from models.resolution import CreateEventRequest, EventView


async def insert_event(conn: AsyncConnection, request: CreateEventRequest) -> int:
    row = await conn.execute(
        sql("INSERT INTO events (title, description) VALUES (:t, :d) RETURNING id"),
        {"t": request.title, "d": request.description},
    )
    return int(row.scalar_one())


async def event_row(conn: AsyncConnection, event_id: int) -> Any:
    return (
        await conn.execute(sql("SELECT * FROM events WHERE id = :e"), {"e": event_id})
    ).one_or_none()


async def event_markets(conn: AsyncConnection, event_id: int) -> list[Any]:
    rows = await conn.execute(
        sql("SELECT id, status, outcome FROM markets WHERE event_id = :e ORDER BY id"),
        {"e": event_id},
    )
    return list(rows)


async def event_view(conn: AsyncConnection, event_id: int) -> EventView | None:
    event = await event_row(conn, event_id)
    if event is None:
        return None
    markets = await event_markets(conn, event_id)
    return EventView(
        id=str(event.id),
        title=event.title,
        description=event.description,
        status=event.status,
        winning_market_id=None if event.winning_market_id is None else str(event.winning_market_id),
        market_ids=[str(m.id) for m in markets],
        created_at=event.created_at,
    )


async def claim_event_resolution(conn: AsyncConnection, event_id: int, winner: int) -> bool:
    """Mark the event as being resolved with this winner; False if it already has another."""
    row = await conn.execute(
        sql(
            "UPDATE events SET status = 'resolving', winning_market_id = :w WHERE id = :e "
            "AND (status = 'open' OR (status = 'resolving' AND winning_market_id = :w)) "
            "RETURNING id"
        ),
        {"e": event_id, "w": winner},
    )
    return row.first() is not None


async def mark_event_resolved(conn: AsyncConnection, event_id: int) -> None:
    await conn.execute(sql("UPDATE events SET status = 'resolved' WHERE id = :e"), {"e": event_id})
