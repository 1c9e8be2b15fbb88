"""Helpers for trading tests: markets, orders, balances."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text

from core.db import connection
from tests.helpers import Client


async def create_market(api: httpx.AsyncClient, admin: Client, **fields: Any) -> dict[str, Any]:
    body = {
        "title": "Will it rain in Lisbon tomorrow?",
        "close_time": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        **fields,
    }
    created = await api.post("/v1/markets", json=body, headers=admin.headers)
    assert created.status_code == 201, created.text
    return dict(created.json())


async def order(
    api: httpx.AsyncClient, who: Client, market_id: str, **fields: Any
) -> httpx.Response:
    return await api.post(f"/v1/markets/{market_id}/orders", json=fields, headers=who.headers)


async def wallet_micros(user_id: str) -> tuple[int, int]:
    """(available, reserved) straight from the ledger."""
    async with connection() as conn:
        rows = await conn.execute(
            text("SELECT kind, balance FROM ledger_accounts WHERE user_id = :u"),
            {"u": int(user_id)},
        )
        found = {kind: int(balance) for kind, balance in rows}
    return found["user_available"], found["user_reserved"]


async def escrow_micros(market_id: str) -> int:
    async with connection() as conn:
        row = await conn.execute(
            text(
                "SELECT balance FROM ledger_accounts "
                "WHERE kind = 'market_escrow' AND market_id = :m"
            ),
            {"m": int(market_id)},
        )
        return int(row.scalar_one())


async def market_row(market_id: str) -> Any:
    async with connection() as conn:
        return (
            await conn.execute(text("SELECT * FROM markets WHERE id = :m"), {"m": int(market_id)})
        ).one()
