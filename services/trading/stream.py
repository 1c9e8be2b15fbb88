"""The market's stream events, written in the same transaction as the change they describe.

Each event gets the market's next sequence number; a NOTIFY (delivered at commit) tells every
API process to fan it out. Replays after Last-Event-ID read the same rows.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

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

    async def after_batch(
        self,
        market: Any,
        engine: MarketEngine,
        fills: list[Fill],
        status: str | None,
        now: datetime,
        book_changed: bool,
    ) -> None:
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
        await self.flush()

    async def flush(self) -> None:
        if not self.events:
            return
        first = (
            await self.conn.execute(
                text(
                    "UPDATE markets SET stream_seq = stream_seq + :n WHERE id = :m "
                    "RETURNING stream_seq - :n + 1"
                ),
                {"n": len(self.events), "m": self.market_id},
            )
        ).scalar_one()
        rows = [
            {"m": self.market_id, "seq": first + i, "kind": kind, "payload": json.dumps(payload)}
            for i, (kind, payload) in enumerate(self.events)
        ]
        await self.conn.execute(
            text(
                "INSERT INTO market_events (market_id, seq, kind, payload) "
                "VALUES (:m, :seq, :kind, CAST(:payload AS jsonb))"
            ),
            rows,
        )
        last = first + len(self.events) - 1
        await self.conn.execute(
            text("SELECT pg_notify(:channel, :message)"),
            {"channel": MARKET_CHANNEL, "message": f"{self.market_id}:{first}:{last}"},
        )
        self.events.clear()
