"""What a stream reads from Postgres: a market's snapshot, and the events after a Last-Event-ID."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from core.db import get_engine, sql
from models.money import format_optional
from services.trading import market_reads
from services.trading.stream import BOOK_DEPTH

REPLAY_PAGE = 500


async def market_snapshot(market_id: int) -> tuple[int, str] | None:
    """(the market's stream sequence, the snapshot's JSON), read from one consistent view."""
    async with get_engine().connect() as plain:
        conn = await plain.execution_options(isolation_level="REPEATABLE READ")
        row = (
            await conn.execute(
                sql(
                    "SELECT status, last_price, best_bid, best_ask, volume, open_interest, "
                    "stream_seq FROM markets WHERE id = :m"
                ),
                {"m": market_id},
            )
        ).one_or_none()
        if row is None:
            return None
        book = await market_reads.book(conn, market_id, BOOK_DEPTH)
    snapshot: dict[str, Any] = {
        "market_id": str(market_id),
        "status": row.status,
        "ticker": {
            "last_price": format_optional(row.last_price),
            "best_bid": format_optional(row.best_bid),
            "best_ask": format_optional(row.best_ask),
            "volume": int(row.volume),
            "open_interest": int(row.open_interest),
        },
        "book": {"bids": [list(b) for b in book.bids], "asks": [list(a) for a in book.asks]},
    }
    return int(row.stream_seq), json.dumps(snapshot)


async def market_exists(market_id: int) -> bool:
    async with get_engine().connect() as conn:
        found = await conn.execute(sql("SELECT 1 FROM markets WHERE id = :m"), {"m": market_id})
        return found.first() is not None


async def user_stream_seq(user_id: int) -> int:
    async with get_engine().connect() as conn:
        seq = await conn.execute(
            sql("SELECT seq FROM user_stream_seqs WHERE user_id = :u"), {"u": user_id}
        )
        return int(seq.scalar_one_or_none() or 0)


async def events_after(table: str, key: int, after: int) -> AsyncIterator[tuple[int, str, str]]:
    """(seq, kind, payload JSON) of the stored events after `after`, in order, page by page."""
    column = {"market_events": "market_id", "user_events": "user_id"}[table]
    while True:
        async with get_engine().connect() as conn:
            rows = (
                await conn.execute(
                    sql(
                        f"SELECT seq, kind, CAST(payload AS text) FROM {table} "
                        f"WHERE {column} = :k AND seq > :after ORDER BY seq LIMIT :n"
                    ),
                    {"k": key, "after": after, "n": REPLAY_PAGE},
                )
            ).all()
        for seq, kind, payload in rows:
            yield int(seq), kind, payload
        if len(rows) < REPLAY_PAGE:
            return
        after = int(rows[-1][0])
