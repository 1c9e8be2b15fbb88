"""Significant-move detection against the database: the window's trades, and a previous alert
inside the window replacing the trades it already reported."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from core.db import transaction
from engine import BookSide, Fill, FillKind, Side
from services.streaming.moves import detect_significant_move
from services.trading.markets import CreateMarketRequest, insert_market
from tests.stack import TestStack

CENTS = 10_000
RULE: dict[str, Any] = {"threshold": 10 * CENTS, "window_seconds": 60.0}


def _fill(trade_id: str, cents: int) -> Fill:
    """A one-contract trade at `cents`; detection reads only its id and price."""
    price = cents * CENTS
    return Fill(
        trade_id=trade_id,
        yes_price=price,
        yes_notional=price,
        count=1,
        kind=FillKind.TRANSFER,
        taker_order_id="taker-order",
        taker_user_id="1",
        taker_book_side=BookSide.BID,
        taker_side=Side.YES,
        taker_price=price,
        taker_opened=1,
        taker_closed=0,
        taker_fee=0,
        maker_order_id="maker-order",
        maker_user_id="2",
        maker_side=Side.YES,
        maker_price=price,
        maker_opened=0,
        maker_closed=1,
        maker_fee=0,
    )


async def _market() -> int:
    async with transaction() as conn:
        market = await insert_market(
            conn,
            CreateMarketRequest(title="Moves", close_time=datetime.now(UTC) + timedelta(hours=1)),
        )
    return int(market.id)


async def _trade(market_id: int, trade_id: str, cents: int, at: datetime) -> None:
    async with transaction() as conn:
        await conn.execute(
            text(
                "INSERT INTO trades (id, market_id, yes_price, count, kind, taker_book_side, "
                "created_at) VALUES (:id, :m, :p, 1, 'transfer', 'bid', :at)"
            ),
            {"id": f"{market_id}:{trade_id}", "m": market_id, "p": cents * CENTS, "at": at},
        )


async def _alert(market_id: int, seq: int, to: str, at: datetime) -> None:
    async with transaction() as conn:
        await conn.execute(
            text(
                "INSERT INTO market_events (market_id, seq, kind, payload) "
                "VALUES (:m, :s, 'significant_move', CAST(:p AS jsonb))"
            ),
            {"m": market_id, "s": seq, "p": json.dumps({"to": to, "at": at.isoformat()})},
        )


async def _detect(market_id: int, fills: list[Fill], now: datetime) -> dict[str, Any] | None:
    async with transaction() as conn:
        return await detect_significant_move(conn, market_id, fills, now, **RULE)


async def test_a_move_is_measured_from_the_windows_trades(stack: TestStack) -> None:
    market_id = await _market()
    now = datetime.now(UTC)
    await _trade(market_id, "old", 30, now - timedelta(seconds=90))  # outside the window
    await _trade(market_id, "recent", 50, now - timedelta(seconds=10))
    assert await _detect(market_id, [_fill("f1", 55)], now) is None
    move = await _detect(market_id, [_fill("f2", 62)], now)
    assert move is not None
    assert (move["direction"], move["from"], move["to"], move["change"]) == (
        "up", "0.50", "0.62", "+0.12",
    )  # fmt: skip
    down = await _detect(market_id, [_fill("f3", 38)], now)
    assert down is not None and (down["direction"], down["from"]) == ("down", "0.50")


async def test_after_an_alert_in_the_window_only_later_prices_count(stack: TestStack) -> None:
    market_id = await _market()
    now = datetime.now(UTC)
    await _trade(market_id, "before-alert", 50, now - timedelta(seconds=20))
    await _alert(market_id, 1, "0.62", now - timedelta(seconds=10))
    await _trade(market_id, "after-alert", 64, now - timedelta(seconds=5))
    # 0.66 is 0.16 above the trade before the alert, but only 0.04 above the alert's price.
    assert await _detect(market_id, [_fill("f1", 66)], now) is None
    move = await _detect(market_id, [_fill("f2", 75)], now)
    assert move is not None and (move["from"], move["to"]) == ("0.62", "0.75")


async def test_an_alert_older_than_the_window_is_ignored(stack: TestStack) -> None:
    market_id = await _market()
    now = datetime.now(UTC)
    await _alert(market_id, 1, "0.70", now - timedelta(seconds=120))
    await _trade(market_id, "recent", 50, now - timedelta(seconds=10))
    move = await _detect(market_id, [_fill("f1", 61)], now)
    assert move is not None and (move["from"], move["direction"]) == ("0.50", "up")
