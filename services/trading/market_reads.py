"""Read models of a market straight from Postgres: book, trades, candles."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from core.db import sql
from models.money import format_money
from models.trading import BookView, CandleView, Page, TradeView

_INTERVALS = {"1m": timedelta(minutes=1), "1h": timedelta(hours=1), "1d": timedelta(days=1)}


async def book(conn: AsyncConnection, market_id: int, depth: int) -> BookView:
    rows = await conn.execute(
        sql(
            """
            (SELECT 'bid' AS side, yes_price, sum(remaining_count) AS count FROM orders
             WHERE market_id = :m AND status = 'resting' AND book_side = 'bid'
             GROUP BY yes_price ORDER BY yes_price DESC LIMIT :d)
            UNION ALL
            (SELECT 'ask', yes_price, sum(remaining_count) FROM orders
             WHERE market_id = :m AND status = 'resting' AND book_side = 'ask'
             GROUP BY yes_price ORDER BY yes_price ASC LIMIT :d)
            """
        ),
        {"m": market_id, "d": depth},
    )
    bids: list[tuple[str, int]] = []
    asks: list[tuple[str, int]] = []
    for side, price, count in rows:
        (bids if side == "bid" else asks).append((format_money(int(price)), int(count)))
    return BookView(market_id=str(market_id), bids=bids, asks=asks)


async def trades(
    conn: AsyncConnection, market_id: int, limit: int, cursor: str | None
) -> Page[TradeView]:
    rows = (
        await conn.execute(
            sql(
                """
                SELECT t.id, t.yes_price, t.count, t.kind, t.taker_book_side, t.created_at
                FROM trades t
                WHERE t.market_id = :m AND (CAST(:cursor AS text) IS NULL OR (t.created_at, t.id) <
                    (SELECT created_at, id FROM trades WHERE id = :cursor))
                ORDER BY t.created_at DESC, t.id DESC LIMIT :limit
                """
            ),
            {"m": market_id, "cursor": cursor, "limit": limit + 1},
        )
    ).all()
    items = [
        TradeView(
            id=r.id,
            price=format_money(int(r.yes_price)),
            count=int(r[2]),
            kind=r.kind,
            taker_side="buy_yes" if r.taker_book_side == "bid" else "sell_yes",
            created_at=r.created_at,
        )
        for r in rows[:limit]
    ]
    return Page[TradeView](items=items, next_cursor=items[-1].id if len(rows) > limit else None)


async def candles(
    conn: AsyncConnection, market_id: int, interval: str, limit: int
) -> list[CandleView]:
    rows = await conn.execute(
        sql(
            """
            SELECT * FROM (
                SELECT date_bin(:step, created_at,
                                TIMESTAMPTZ '2000-01-01 00:00:00+00') AS start,
                       (array_agg(yes_price ORDER BY created_at, id))[1] AS open,
                       max(yes_price) AS high, min(yes_price) AS low,
                       (array_agg(yes_price ORDER BY created_at DESC, id DESC))[1] AS close,
                       sum(count) AS volume
                FROM trades WHERE market_id = :m
                GROUP BY 1 ORDER BY 1 DESC LIMIT :limit
            ) c ORDER BY start
            """
        ),
        {"step": _INTERVALS[interval], "m": market_id, "limit": limit},
    )
    return [
        CandleView(
            start=r.start,
            open=format_money(int(r.open)),
            high=format_money(int(r.high)),
            low=format_money(int(r.low)),
            close=format_money(int(r.close)),
            volume=int(r.volume),
        )
        for r in rows
    ]
