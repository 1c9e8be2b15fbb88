"""Significant price moves: detected inside the trade batch's transaction, so they are exact.

A move is significant when the market's last price is at least `threshold` away from any trade
price of the last `window` (or, after a previous alert inside the window, from that alert's price
and the trades since). It becomes a `significant_move` event on the market's stream.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from core.config import get_settings
from core.db import sql
from engine import Fill
from models.money import format_money, parse_money


async def detect_significant_move(
    conn: AsyncConnection,
    market_id: int,
    fills: list[Fill],
    now: datetime,
    *,
    threshold: int,
    window_seconds: float,
) -> dict[str, Any] | None:
    """The `significant_move` payload this batch's trades cause, or None."""
    if not fills or threshold <= 0:
        return None
    last = fills[-1].yes_price
    since = now - timedelta(seconds=window_seconds)
    references = [f.yes_price for f in fills[:-1]]
    # The last alert, and the trades since the window's start (or since that alert, if it falls
    # inside the window: measure from it, not again from prices it already reported).
    previous, low, high = (
        await conn.execute(
            sql(
                """
                WITH previous AS (
                    SELECT payload, CAST(payload->>'at' AS timestamptz) AS at FROM market_events
                    WHERE market_id = :m AND kind = 'significant_move'
                    ORDER BY seq DESC LIMIT 1
                ), alert AS (
                    SELECT max(at) AS at FROM previous WHERE at >= :since
                )
                SELECT (SELECT payload FROM previous), min(t.yes_price), max(t.yes_price)
                FROM alert LEFT JOIN trades t ON t.market_id = :m AND t.created_at <= :now
                    AND t.id <> ALL(:ids)
                    AND (t.created_at > alert.at OR (alert.at IS NULL AND t.created_at >= :since))
                """
            ),
            {"m": market_id, "since": since, "now": now, "ids": [f.trade_id for f in fills]},
        )
    ).one()
    if previous is not None and datetime.fromisoformat(previous["at"]) >= since:
        references.append(parse_money(previous["to"], allow_zero=True))
    references += [int(p) for p in (low, high) if p is not None]
    if not references:
        return None
    low_ref, high_ref = min(references), max(references)
    if last - low_ref >= threshold and last - low_ref >= high_ref - last:
        start, direction = low_ref, "up"
    elif high_ref - last >= threshold:
        start, direction = high_ref, "down"
    else:
        return None
    change = last - start
    return {
        "direction": direction,
        "from": format_money(start),
        "to": format_money(last),
        "change": ("+" if change > 0 else "-") + format_money(abs(change)),
        "window_seconds": window_seconds,
        "at": now.isoformat(),
    }


def significant_move_rule() -> dict[str, Any]:
    """The threshold (micro-dollars) and window from the settings."""
    settings = get_settings()
    return {
        "threshold": parse_money(settings.significant_move_threshold, allow_zero=True),
        "window_seconds": settings.significant_move_window_seconds,
    }
