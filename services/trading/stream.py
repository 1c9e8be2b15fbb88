"""The market's stream events, written in the same transaction as the change they describe.

Each event gets the market's next sequence number; a NOTIFY (delivered at commit) tells every
API process to fan it out. Replays after Last-Event-ID read the same rows.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from core.db import sql
from engine import Fill, MarketEngine
from models.money import format_money, format_optional

MARKET_CHANNEL = "oddsmith_market_events"
BOOK_DEPTH = 10


class MarketEventWriter:
    def __init__(self, conn: AsyncConnection, market_id: int) -> None:
        self.conn = conn
        self.market_id = market_id
        self.events: list[tuple[str, dict[str, Any]]] = []

    def add(self, kind: str, payload: dict[str, Any]) -> None:
        self.events.append((kind, {"market_id": str(self.market_id), **payload}))

    def add_batch(
        self,
        market: Any,
        engine: MarketEngine,
        fills: list[Fill],
        status: str | None,
        now: datetime,
        book_changed: bool,
    ) -> None:
        """Queue a trade batch's trade, ticker, book and status events; flush() writes them."""
        for f in fills:
            self.add(
                "trade",
                {
                    "id": f.trade_id,
                    "price": format_money(f.yes_price),
                    "count": f.count,
                    "kind": f.kind.value,
                    "taker_side": f.taker_book_side.value,
                    "created_at": now.isoformat(),
                },
            )
        best_bid, best_ask = engine.top_of_book()
        ticker = {
            "last_price": format_optional(engine.last_price),
            "best_bid": format_optional(best_bid),
            "best_ask": format_optional(best_ask),
            "volume": engine.volume,
            "open_interest": engine.open_interest,
        }
        before = {
            "last_price": format_optional(market.last_price),
            "best_bid": format_optional(market.best_bid),
            "best_ask": format_optional(market.best_ask),
            "volume": int(market.volume),
            "open_interest": int(market.open_interest),
        }
        if ticker != before:
            self.add("ticker", ticker)
        if book_changed:
            bids, asks = engine.depth(BOOK_DEPTH)
            self.add(
                "book",
                {
                    "bids": [[format_money(p), c] for p, c in bids],
                    "asks": [[format_money(p), c] for p, c in asks],
                },
            )
        if status is not None and status != market.status:
            self.add("status", {"status": status})

    async def flush(self) -> None:
        """Number, store and announce the pending events in one round trip."""
        if not self.events:
            return
        await self.conn.execute(
            sql(
                """
                WITH seq AS (
                    UPDATE markets SET stream_seq = stream_seq + :n WHERE id = :m
                    RETURNING id, stream_seq - :n + 1 AS first
                ), stored AS (
                    INSERT INTO market_events (market_id, seq, kind, payload)
                    SELECT seq.id, seq.first + e.i - 1, e.kind, e.payload
                    FROM seq, unnest(CAST(:kinds AS text[]), CAST(:payloads AS jsonb[]))
                        WITH ORDINALITY AS e(kind, payload, i)
                )
                SELECT pg_notify(:channel, concat_ws(':', seq.id, seq.first, seq.first + :n - 1))
                FROM seq
                """
            ),
            {
                "n": len(self.events),
                "m": self.market_id,
                "kinds": [kind for kind, _ in self.events],
                "payloads": [json.dumps(payload) for _, payload in self.events],
                "channel": MARKET_CHANNEL,
            },
        )
        self.events.clear()
