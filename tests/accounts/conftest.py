"""Accounts tests: a quick sandbox gateway, and the ledger reconciled after every test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio


@pytest_asyncio.fixture(autouse=True, loop_scope="session")
async def reconciled_ledger(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[None]:
    if "stack" not in request.fixturenames:
        yield
        return
    from core.config import get_settings

    # The sandbox answers in 50 ms here (a second by default).
    monkeypatch.setattr(get_settings(), "payments_sandbox_delay_seconds", 0.05)
    yield
    from core.db import connection
    from services.accounts.ledger import reconcile

    async with connection() as conn:
        report = await reconcile(conn)
    assert report.ok, report
