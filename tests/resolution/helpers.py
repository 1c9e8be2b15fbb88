"""Helpers for resolution tests: a market with holders on both sides, waiting for settlement."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import text

from core.db import connection
from tests.helpers import Client, fund, register
from tests.trading.helpers import create_market, order, wallet_micros

DOLLARS = 1_000_000


@dataclass
class Traders:
    admin: Client
    market: dict[str, Any]
    users: dict[str, Client]


async def place(
    api: httpx.AsyncClient, who: Client, market_id: str, **fields: Any
) -> dict[str, Any]:
    response = await order(api, who, market_id, **fields)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def market_with_holders(
    api: httpx.AsyncClient, *, dispute_window_seconds: int = 1, **market_fields: Any
) -> Traders:
    """alice +7 YES, carol +5 YES, frank +3 YES; bob -10 NO, dave -5 NO (and a resting NO bid
    of dave's for 1 more); erin bought 3 YES and sold them again (no position)."""
    admin = await register(api, admin=True)
    names = ("alice", "bob", "carol", "dave", "erin", "frank")
    users = {name: await register(api) for name in names}
    for who in users.values():
        await fund(who.id, 100 * DOLLARS)
    market = await create_market(
        api, admin, dispute_window_seconds=dispute_window_seconds, **market_fields
    )
    m = market["id"]
    a, b, c, d, e, f = (users[n] for n in names)
    await place(api, a, m, action="buy", side="yes", count=10, price="0.60")
    assert (await place(api, b, m, action="buy", side="no", count=10, price="0.40"))[
        "status"
    ] == "filled"
    await place(api, c, m, action="buy", side="yes", count=5, price="0.70")
    dave = await place(api, d, m, action="buy", side="no", count=6, price="0.30")
    assert dave["filled_count"] == 5 and dave["status"] == "resting"
    await place(api, e, m, action="buy", side="yes", count=3, price="0.65")
    assert (await place(api, a, m, action="sell", side="yes", count=3, price="0.65"))[
        "status"
    ] == "filled"
    await place(api, f, m, action="buy", side="yes", count=3, price="0.66")
    assert (await place(api, e, m, action="sell", side="yes", count=3, price="0.66"))[
        "status"
    ] == "filled"
    return Traders(admin=admin, market=market, users=users)


async def positions(market_id: str) -> dict[int, Any]:
    async with connection() as conn:
        rows = await conn.execute(
            text("SELECT * FROM positions WHERE market_id = :m"), {"m": int(market_id)}
        )
        return {int(r.user_id): r for r in rows}


async def totals(users: dict[str, Client]) -> dict[str, int]:
    """Each user's whole cash (available + reserved): closing a market only moves holds."""
    result = {}
    for name, who in users.items():
        available, reserved = await wallet_micros(who.id)
        result[name] = available + reserved
    return result


async def wait_for_status(
    api: httpx.AsyncClient, market_id: str, status: str, within: float = 90.0
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        body = dict((await api.get(f"/v1/markets/{market_id}")).json())
        if body["status"] == status:
            return body
        assert loop.time() < deadline, f"market {market_id} stuck at {body['status']}"
        await asyncio.sleep(0.1)


async def notifications(user_id: str) -> list[Any]:
    """The user's market_resolved notifications (the ones resolution records)."""
    async with connection() as conn:
        rows = await conn.execute(
            text(
                "SELECT * FROM notifications WHERE user_id = :u AND kind = 'market_resolved' "
                "ORDER BY id"
            ),
            {"u": int(user_id)},
        )
        return list(rows)
