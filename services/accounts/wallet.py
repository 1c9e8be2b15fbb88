"""A user's wallet: balances and the history of what changed their cash.

History lines are ledger transactions seen from the user's cash: `amount` is the change of the
user's total cash (available + reserved) and `balance_after` the total right after it. Postings
that only move cash between available and reserved (order holds and releases, withdrawal holds)
change nothing in that total and are not listed; the wallet's `reserved` shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from core.db import sql
from services.accounts.ledger import Wallet, balances, user_accounts


@dataclass(frozen=True, slots=True)
class HistoryLine:
    id: int
    kind: str
    amount: int
    balance_after: int
    market_id: int | None
    order_id: str | None
    created_at: datetime


async def wallet(conn: AsyncConnection, user_id: int) -> Wallet:
    accounts = (await user_accounts(conn, [user_id]))[user_id]
    found = await balances(conn, [accounts.available, accounts.reserved])
    return Wallet(found[accounts.available], found[accounts.reserved])


async def history(
    conn: AsyncConnection,
    user_id: int,
    *,
    limit: int,
    before_id: int | None = None,
    kind: str | None = None,
    market_id: int | None = None,
) -> list[HistoryLine]:
    """Newest first, transaction ids below `before_id`; the caller asks for limit + 1 rows."""
    accounts = (await user_accounts(conn, [user_id]))[user_id]
    rows = await conn.execute(
        sql(
            """
            WITH mine AS (
                SELECT e.transaction_id, sum(e.amount) AS amount, max(e.id) AS last_entry
                FROM ledger_entries e
                WHERE e.account_id IN (:available, :reserved)
                  AND (CAST(:before AS bigint) IS NULL OR e.transaction_id < :before)
                GROUP BY e.transaction_id
                HAVING sum(e.amount) <> 0
            )
            SELECT t.id, t.kind, m.amount,
                   coalesce((SELECT balance_after FROM ledger_entries
                             WHERE account_id = :available AND id <= m.last_entry
                             ORDER BY id DESC LIMIT 1), 0)
                 + coalesce((SELECT balance_after FROM ledger_entries
                             WHERE account_id = :reserved AND id <= m.last_entry
                             ORDER BY id DESC LIMIT 1), 0) AS balance_after,
                   t.market_id, t.order_id, t.created_at
            FROM mine m JOIN ledger_transactions t ON t.id = m.transaction_id
            WHERE (CAST(:kind AS text) IS NULL OR t.kind = :kind)
              AND (CAST(:market AS bigint) IS NULL OR t.market_id = :market)
            ORDER BY t.id DESC
            LIMIT :limit
            """
        ),
        {
            "available": accounts.available,
            "reserved": accounts.reserved,
            "before": before_id,
            "kind": kind,
            "market": market_id,
            "limit": limit,
        },
    )
    return [
        HistoryLine(
            id=int(r[0]),
            kind=r[1],
            amount=int(r[2]),
            balance_after=int(r[3]),
            market_id=None if r[4] is None else int(r[4]),
            order_id=r[5],
            created_at=r[6],
        )
        for r in rows
    ]
