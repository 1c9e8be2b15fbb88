"""Runs after every other accounts test (file order): the whole ledger still reconciles."""

from __future__ import annotations

import httpx

from core.db import connection
from services.accounts.ledger import reconcile


async def test_the_ledger_reconciles_after_all_accounts_tests(api: httpx.AsyncClient) -> None:
    async with connection() as conn:
        report = await reconcile(conn)
    assert report.ok, report
