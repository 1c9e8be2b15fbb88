"""Users' alerts: storage, and their evaluation.

Price alerts (`price_above`, `price_below`, `price_move`) are evaluated inside the trade
batch's transaction, from the batch's own fills: the price that crossed and the alert's
armed flag change in the same commit, so an alert fires exactly once per crossing even when
batches are retried, and a deleted alert (its row marked deleted) can never fire afterwards.
Firing disarms an alert; it re-arms when the price is back on the other side.

- `price_above` fires when a trade of the batch is at or above the threshold; re-arms when
  the batch ends below it. `price_below` is the mirror.
- `price_move` fires when the last price is at least `threshold` away from any trade price of
  the last `window_seconds`; re-arms when that is no longer true.
- `market_resolved` fires when the market's outcome becomes final; `closing_soon` fires
  `window_seconds` (default an hour) before close_time, from a durable timer (AlertTimerWorkflow).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection

from core.db import sql
from engine import Fill
from models.money import format_money, format_optional

if TYPE_CHECKING:
    from services.notifications.outbox import NewNotification

PRICE_KINDS = ("price_above", "price_below", "price_move")
CLOSING_SOON_DEFAULT_SECONDS = 3600
ALERT_COLUMNS = (
    "id, user_id, market_id, kind, threshold, window_seconds, armed, fired_count, "
    "last_fired_at, created_at"
)


def alert_source(alert_id: int, fired_count: int) -> str:
    return f"alert:{alert_id}:{fired_count}"


async def insert_alert(
    conn: AsyncConnection,
    user_id: int,
    market: Any,
    kind: str,
    threshold: int | None,
    window_seconds: int | None,
) -> Any:
    """A new alert, armed unless its condition already holds (it waits for a real crossing)."""
    armed = True
    last = market.last_price
    if last is not None and threshold is not None:
        if kind == "price_above":
            armed = last < threshold
        elif kind == "price_below":
            armed = last > threshold
    return (
        await conn.execute(
            sql(
                "INSERT INTO alerts (user_id, market_id, kind, threshold, window_seconds, armed) "
                f"VALUES (:u, :m, :k, :t, :w, :a) RETURNING {ALERT_COLUMNS}"
            ),
            {
                "u": user_id,
                "m": market.id,
                "k": kind,
                "t": threshold,
                "w": window_seconds,
                "a": armed,
            },
        )
    ).one()


async def list_alerts(
    conn: AsyncConnection, user_id: int, limit: int, before_id: int | None
) -> list[Any]:
    rows = await conn.execute(
        sql(
            f"SELECT {ALERT_COLUMNS} FROM alerts WHERE user_id = :u AND deleted_at IS NULL "
            "AND (CAST(:before AS bigint) IS NULL OR id < :before) ORDER BY id DESC LIMIT :n"
        ),
        {"u": user_id, "before": before_id, "n": limit},
    )
    return list(rows)


async def alert_of(conn: AsyncConnection, user_id: int, alert_id: int) -> Any:
    return (
        await conn.execute(
            sql(
                f"SELECT {ALERT_COLUMNS} FROM alerts WHERE id = :id AND user_id = :u "
                "AND deleted_at IS NULL"
            ),
            {"id": alert_id, "u": user_id},
        )
    ).one_or_none()


async def delete_alert(conn: AsyncConnection, user_id: int, alert_id: int) -> bool:
    """Mark it deleted; the row lock makes this wait for a batch evaluating it, so nothing
    fires after the delete commits."""
    row = await conn.execute(
        sql(
            "UPDATE alerts SET deleted_at = now() WHERE id = :id AND user_id = :u "
            "AND deleted_at IS NULL RETURNING id"
        ),
        {"id": alert_id, "u": user_id},
    )
    return row.first() is not None


def _fired(alert: Any, market: Any, title: str, body: str, extra: dict[str, Any]) -> Any:
    from services.notifications.outbox import NewNotification

    return NewNotification(
        int(alert.user_id),
        alert.kind,
        title,
        body,
        {
            "alert_id": str(alert.id),
            "market_id": str(market.id),
            "threshold": format_optional(alert.threshold),
            **extra,
        },
    )


async def _window_ranges(
    conn: AsyncConnection, market_id: int, windows: set[int], now: datetime
) -> dict[int, tuple[int, int]]:
    """(min, max) trade price over each window ending now (this batch's trades included)."""
    found: dict[int, tuple[int, int]] = {}
    for window in sorted(windows):
        low, high = (
            await conn.execute(
                sql(
                    "SELECT min(yes_price), max(yes_price) FROM trades WHERE market_id = :m "
                    "AND created_at >= :since AND created_at <= :now"
                ),
                {"m": market_id, "since": now - timedelta(seconds=window), "now": now},
            )
        ).one()
        if low is not None:
            found[window] = (int(low), int(high))
    return found


async def evaluate_price_alerts(
    conn: AsyncConnection, market: Any, fills: list[Fill], now: datetime
) -> list[NewNotification]:
    """Fire and re-arm the market's price alerts for this batch's trades."""
    alerts = (
        await conn.execute(
            sql(
                f"SELECT {ALERT_COLUMNS} FROM alerts WHERE market_id = :m AND deleted_at IS NULL "
                "AND kind IN ('price_above', 'price_below', 'price_move') ORDER BY id FOR UPDATE"
            ),
            {"m": market.id},
        )
    ).all()
    if not alerts:
        return []
    prices = [f.yes_price for f in fills]
    last, high, low = prices[-1], max(prices), min(prices)
    ranges = await _window_ranges(
        conn,
        int(market.id),
        {int(a.window_seconds or 0) for a in alerts if a.kind == "price_move"},
        now,
    )
    fired: list[NewNotification] = []
    fire_ids: list[int] = []
    armed_after: dict[int, bool] = {}
    shown = format_money(last)
    for a in alerts:
        threshold = int(a.threshold or 0)
        if a.kind == "price_above":
            crossed, rearmed = high >= threshold, last < threshold
            title = f"{market.title}: YES at {shown}, above {format_money(threshold)}"
        elif a.kind == "price_below":
            crossed, rearmed = low <= threshold, last > threshold
            title = f"{market.title}: YES at {shown}, below {format_money(threshold)}"
        else:
            w_low, w_high = ranges.get(int(a.window_seconds or 0), (last, last))
            moved = max(last - w_low, w_high - last)
            crossed = moved >= threshold
            rearmed = not crossed
            title = (
                f"{market.title}: YES moved {format_money(moved)} to {shown} "
                f"within {a.window_seconds}s"
            )
        if a.armed and crossed:
            fire_ids.append(int(a.id))
            fired.append(
                _fired(
                    a,
                    market,
                    title,
                    f"Your {a.kind.replace('_', ' ')} alert fired: the YES price is {shown}.",
                    {"price": shown},
                )
            )
        armed = rearmed if (a.armed and crossed) or not a.armed else True
        if armed != a.armed:
            armed_after[int(a.id)] = armed
    if armed_after:
        await conn.execute(
            sql("UPDATE alerts SET armed = :a WHERE id = :id"),
            [{"id": i, "a": armed} for i, armed in armed_after.items()],
        )
    if fire_ids:
        await conn.execute(
            sql(
                "UPDATE alerts SET fired_count = fired_count + 1, last_fired_at = :now "
                "WHERE id = ANY(:ids)"
            ),
            {"ids": fire_ids, "now": now},
        )
    return fired


async def fire_market_resolved_alerts(conn: AsyncConnection, market_id: int, source: str) -> int:
    """Every armed `market_resolved` alert of the market, once (they never re-arm)."""
    result = await conn.execute(
        sql(
            """
            WITH fired AS (
                UPDATE alerts SET armed = false, fired_count = fired_count + 1,
                    last_fired_at = now()
                WHERE market_id = :m AND kind = 'market_resolved' AND armed
                    AND deleted_at IS NULL
                RETURNING id, user_id
            )
            INSERT INTO notifications (user_id, kind, title, body, data, source)
            SELECT f.user_id, 'market_resolved',
                'Resolved ' || upper(coalesce(m.outcome, '')) || ': ' || m.title,
                'The market you watch resolved ' || coalesce(m.outcome, '') || '.',
                jsonb_build_object('alert_id', f.id::text, 'market_id', m.id::text,
                    'outcome', m.outcome),
                :source
            FROM fired f JOIN markets m ON m.id = :m
            """
        ),
        {"m": market_id, "source": source},
    )
    return int(result.rowcount or 0)


async def check_closing_soon(
    conn: AsyncConnection, alert_id: int, now: datetime
) -> tuple[str | None, datetime | None]:
    """Fire a `closing_soon` alert if its moment has come: (source fired, or when to look
    again). (None, None): nothing more to do."""
    row = (
        await conn.execute(
            sql(
                "SELECT a.id, a.user_id, a.market_id, a.window_seconds, a.armed, a.fired_count, "
                "a.deleted_at, m.title, m.status, m.close_time FROM alerts a "
                "JOIN markets m ON m.id = a.market_id WHERE a.id = :id FOR UPDATE OF a"
            ),
            {"id": alert_id},
        )
    ).one_or_none()
    if row is None or row.deleted_at is not None or not row.armed:
        return None, None
    if row.status not in ("scheduled", "open", "paused"):
        return None, None
    lead = timedelta(seconds=row.window_seconds or CLOSING_SOON_DEFAULT_SECONDS)
    due = row.close_time - lead
    if now < due:
        return None, due
    source = alert_source(int(row.id), int(row.fired_count) + 1)
    await conn.execute(
        sql(
            "UPDATE alerts SET armed = false, fired_count = fired_count + 1, last_fired_at = :now "
            "WHERE id = :id"
        ),
        {"id": alert_id, "now": now},
    )
    minutes = max(1, int((row.close_time - now).total_seconds() // 60))
    await conn.execute(
        sql(
            "INSERT INTO notifications (user_id, kind, title, body, data, source) "
            "VALUES (:u, 'closing_soon', :t, :b, CAST(:d AS jsonb), :s)"
        ),
        {
            "u": row.user_id,
            "t": f"Closing soon: {row.title}",
            "b": f"Trading closes in about {minutes} minutes, at {row.close_time.isoformat()}.",
            "d": json.dumps(
                {
                    "alert_id": str(row.id),
                    "market_id": str(row.market_id),
                    "close_time": row.close_time.isoformat(),
                }
            ),
            "s": source,
        },
    )
    return source, None
