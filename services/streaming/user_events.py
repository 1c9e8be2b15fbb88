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

from sqlalchemy.ext.asyncio import AsyncConnection

from core.db import sql
from engine import AMM_USER_ID, Fill, OrderState
from models.money import format_money, format_optional
from services.accounts.ledger import Wallet

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
    event_user: list[int] = []
    event_kind: list[str] = []
    event_payload: list[str] = []
    for user_id in users:
        for kind, payload in by_user[user_id]:
            event_user.append(user_id)
            event_kind.append(kind)
            event_payload.append(json.dumps(payload))
    # One round trip: take each user's block of sequence numbers, store the events in it (in
    # the order given) and announce "user:first:last" per user at commit.
    await conn.execute(
        sql(
            """
            WITH wanted AS (
                SELECT u, n FROM unnest(CAST(:u AS bigint[]), CAST(:n AS bigint[])) AS k(u, n)
            ), seqs AS (
                INSERT INTO user_stream_seqs (user_id, seq)
                SELECT u, n FROM wanted ORDER BY u
                ON CONFLICT (user_id) DO UPDATE SET seq = user_stream_seqs.seq + EXCLUDED.seq
                RETURNING user_id, seq AS last
            ), blocks AS (
                SELECT seqs.user_id, seqs.last - wanted.n AS before, seqs.last
                FROM seqs JOIN wanted ON wanted.u = seqs.user_id
            ), stored AS (
                INSERT INTO user_events (user_id, seq, kind, payload)
                SELECT e.u, blocks.before + row_number() OVER (PARTITION BY e.u ORDER BY e.i),
                    e.kind, e.payload
                FROM unnest(CAST(:eu AS bigint[]), CAST(:ek AS text[]), CAST(:ep AS jsonb[]))
                    WITH ORDINALITY AS e(u, kind, payload, i)
                JOIN blocks ON blocks.user_id = e.u
            )
            SELECT pg_notify(:channel, user_id || ':' || (before + 1) || ':' || last)
            FROM blocks
            """
        ),
        {
            "u": users,
            "n": [len(by_user[u]) for u in users],
            "eu": event_user,
            "ek": event_kind,
            "ep": event_payload,
            "channel": USER_CHANNEL,
        },
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


def wallet_events(wallets: dict[int, Wallet]) -> list[tuple[int, str, dict[str, Any]]]:
    """`wallet` events for users whose ledger the transaction changed, as it will commit."""
    return [
        (
            user_id,
            "wallet",
            {
                "available": format_money(wallet.available),
                "reserved": format_money(wallet.reserved),
                "total": format_money(wallet.total),
            },
        )
        for user_id, wallet in sorted(wallets.items())
    ]


async def record_batch_user_events(
    conn: AsyncConnection,
    market_id: int,
    states: Iterable[OrderState],
    fills: list[Fill],
    client_ids: dict[str, str | None],
    wallets: dict[int, Wallet],
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
    events.extend(wallet_events(wallets))
    await write_user_events(conn, events)
