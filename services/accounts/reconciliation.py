"""Continuous reconciliation: the ledger's invariants and each market's escrow, checked in SQL."""

from __future__ import annotations

import json

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection

from core.db import sql
from services.accounts.ledger import reconcile


class BooksReport(BaseModel):
    unbalanced_transactions: int
    accounts_not_matching_entries: int
    negative_user_accounts: int
    total_of_all_accounts: int
    markets_with_wrong_escrow: list[str]

    @property
    def ok(self) -> bool:
        return (
            self.unbalanced_transactions == 0
            and self.accounts_not_matching_entries == 0
            and self.negative_user_accounts == 0
            and self.total_of_all_accounts == 0
            and not self.markets_with_wrong_escrow
        )


async def check_books(conn: AsyncConnection) -> BooksReport:
    """Every transaction sums to zero, balances equal their entries, nobody is negative, user
    plus platform money equals deposits minus withdrawals, and escrow = $1 × open interest."""
    ledger = await reconcile(conn)
    wrong = await conn.execute(
        sql(
            """
            SELECT m.id FROM markets m
            LEFT JOIN ledger_accounts a ON a.kind = 'market_escrow' AND a.market_id = m.id
            WHERE coalesce(a.balance, 0) <> m.open_interest * 1000000
            ORDER BY m.id
            """
        )
    )
    return BooksReport(
        unbalanced_transactions=ledger.unbalanced_transactions,
        accounts_not_matching_entries=ledger.accounts_not_matching_entries,
        negative_user_accounts=ledger.negative_user_accounts,
        total_of_all_accounts=ledger.total_of_all_accounts,
        markets_with_wrong_escrow=[str(m) for (m,) in wrong],
    )


async def alert_admins(conn: AsyncConnection, report: BooksReport, check_id: str) -> int:
    """One notification per admin per failed check (idempotent by the check's id)."""
    body = (
        f"unbalanced transactions {report.unbalanced_transactions}, accounts off their entries "
        f"{report.accounts_not_matching_entries}, negative accounts "
        f"{report.negative_user_accounts}, sum of all accounts {report.total_of_all_accounts}, "
        f"markets with wrong escrow {', '.join(report.markets_with_wrong_escrow) or 'none'}"
    )
    data = json.dumps({"check_id": check_id, **report.model_dump()})
    inserted = await conn.execute(
        sql(
            """
            INSERT INTO notifications (user_id, kind, title, body, data)
            SELECT u.id, 'reconciliation_failed', 'The books do not reconcile', :body,
                   CAST(:data AS jsonb)
            FROM users u WHERE u.role = 'admin' AND NOT EXISTS (
                SELECT 1 FROM notifications n WHERE n.user_id = u.id
                AND n.kind = 'reconciliation_failed' AND n.data->>'check_id' = :check_id)
            """
        ),
        {"body": body, "data": data, "check_id": check_id},
    )
    return int(inserted.rowcount or 0)  # type: ignore[attr-defined]
