"""Each user's own stream events (order, fill, wallet), written in the trade batch's transaction.

Every event gets the user's next sequence number (`user_stream_seqs`); a NOTIFY per user,
delivered at commit, tells every API process which rows to fan out. Replays read the same rows.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from engine import AMM_USER_ID, Fill, OrderState
from models.money import format_money, format_optional

USER_CHANNEL = "oddsmith_user_events"


async def write_user_events(
    conn: AsyncConnection, events: Iterable[tuple[int, str, dict[str, Any]]]
) -> None:
    """Append (user_id, kind, payload) events, numbering them per user, and announce them."""
    by_user: dict[int, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for user_id, kind, payload in events:
        by_user[user_id].append((kind, payload))
    if not by_user:
        return
    users = sorted(by_user)  # one lock order for every batch: concurrent markets never deadlock
    counts = [len(by_user[u]) for u in users]
    rows = await conn.execute(
        text(
            "INSERT INTO user_stream_seqs (user_id, seq) "
            "SELECT u, n FROM unnest(CAST(:u AS bigint[]), CAST(:n AS bigint[])) AS k(u, n) "
            "ORDER BY u "
            "ON CONFLICT (user_id) DO UPDATE SET seq = user_stream_seqs.seq + EXCLUDED.seq "
            "RETURNING user_id, seq"
        ),
        {"u": users, "n": counts},
    )
    last_seq = {int(u): int(s) for u, s in rows}
    inserts: list[dict[str, Any]] = []
    notices: list[str] = []
    for user_id in users:
        user_events = by_user[user_id]
        first = last_seq[user_id] - len(user_events) + 1
        for i, (kind, payload) in enumerate(user_events):
            inserts.append(
                {"u": user_id, "seq": first + i, "kind": kind, "payload": json.dumps(payload)}
            )
        notices.append(f"{user_id}:{first}:{last_seq[user_id]}")
    await conn.execute(
        text(
            "INSERT INTO user_events (user_id, seq, kind, payload) "
            "VALUES (:u, :seq, :kind, CAST(:payload AS jsonb))"
        ),
        inserts,
    )
    await conn.execute(
        text("SELECT pg_notify(:channel, n) FROM unnest(CAST(:notices AS text[])) AS n"),
        {"channel": USER_CHANNEL, "notices": notices},
    )


def order_event(
    state: OrderState, market_id: int, client_order_id: str | None, now: datetime
) -> dict[str, Any]:
    return {
        "id": state.order_id,
        "market_id": str(market_id),
        "action": state.action.value,
        "side": state.side.value,
        "type": state.type.value,
        "price": format_money(state.price),
        "count": state.count,
        "filled_count": state.filled_count,
        "remaining_count": state.remaining_count,
        "status": state.status.value,
        "reason": state.reason,
        "avg_fill_price": format_optional(state.avg_fill_price),
        "fees": format_money(state.fees_paid),
        "client_order_id": client_order_id,
        "updated_at": now.isoformat(),
    }


def fill_events(fill: Fill, market_id: int, now: datetime) -> list[tuple[int, str, dict[str, Any]]]:
    """One `fill` event for each party of a matched segment (the AMM has no stream)."""
    events = []
    for taker in (True, False):
        user = fill.taker_user_id if taker else fill.maker_user_id
        if user == AMM_USER_ID:
            continue
        events.append(
            (
                int(user),
                "fill",
                {
                    "id": f"{fill.trade_id}:{'t' if taker else 'm'}",
                    "trade_id": fill.trade_id,
                    "order_id": fill.taker_order_id if taker else fill.maker_order_id,
                    "market_id": str(market_id),
                    "side": (fill.taker_side if taker else fill.maker_side).value,
                    "price": format_money(fill.taker_price if taker else fill.maker_price),
                    "count": fill.count,
                    "fee": format_money(fill.taker_fee if taker else fill.maker_fee),
                    "is_taker": taker,
                    "kind": fill.kind.value,
                    "created_at": now.isoformat(),
                },
            )
        )
    return events


async def wallet_events(
    conn: AsyncConnection, user_ids: Iterable[int]
) -> list[tuple[int, str, dict[str, Any]]]:
    """The wallets of users whose ledger this transaction changed, as they will commit."""
    ids = sorted(set(user_ids))
    if not ids:
        return []
    rows = await conn.execute(
        text(
            "SELECT user_id, kind, balance FROM ledger_accounts "
            "WHERE user_id = ANY(:ids) AND kind IN ('user_available', 'user_reserved')"
        ),
        {"ids": ids},
    )
    found: dict[int, dict[str, int]] = defaultdict(dict)
    for user_id, kind, balance in rows:
        found[int(user_id)][kind] = int(balance)
    events = []
    for user_id in ids:
        available = found[user_id].get("user_available", 0)
        reserved = found[user_id].get("user_reserved", 0)
        payload = {
            "available": format_money(available),
            "reserved": format_money(reserved),
            "total": format_money(available + reserved),
        }
        events.append((user_id, "wallet", payload))
    return events


async def record_batch_user_events(
    conn: AsyncConnection,
    market_id: int,
    states: Iterable[OrderState],
    fills: list[Fill],
    client_ids: dict[str, str | None],
    wallet_users: Iterable[int],
    now: datetime,
) -> None:
    """A trade batch's user events: its fills, then the orders it changed, then wallets."""
    events: list[tuple[int, str, dict[str, Any]]] = []
    for fill in fills:
        events.extend(fill_events(fill, market_id, now))
    for state in states:
        if state.user_id == AMM_USER_ID:
            continue
        payload = order_event(state, market_id, client_ids.get(state.order_id), now)
        events.append((int(state.user_id), "order", payload))
    events.extend(await wallet_events(conn, wallet_users))
    await write_user_events(conn, events)
