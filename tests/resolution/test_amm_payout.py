"""The AMM's contracts are paid like anyone's, into the platform's market-maker account."""

from __future__ import annotations

import httpx
from sqlalchemy import text

from core.db import connection
from services.accounts.ledger import reconcile
from tests.helpers import fund, register
from tests.resolution.helpers import DOLLARS, place, positions, wait_for_status
from tests.trading.helpers import create_market, escrow_micros, market_row


async def market_maker_balance() -> int:
    async with connection() as conn:
        row = await conn.execute(
            text("SELECT balance FROM ledger_accounts WHERE kind = 'platform_market_maker'")
        )
        return int(row.scalar_one())


async def test_the_amm_result_lands_in_the_market_maker_account(api: httpx.AsyncClient) -> None:
    admin, alice = await register(api, admin=True), await register(api)
    await fund(alice.id, 100 * DOLLARS)
    market = await create_market(api, admin, amm_liquidity="100", dispute_window_seconds=1)
    mid = market["id"]
    bought = await place(api, alice, mid, action="buy", side="yes", count=10, type="market")
    assert bought["filled_count"] == 10, bought
    assert int((await market_row(mid)).amm_position) == -10  # the AMM sold YES: it holds NO
    assert int((await positions(mid))[int(alice.id)].position) == 10
    before = await market_maker_balance()

    resolved = await api.post(
        f"/v1/markets/{mid}/resolve", json={"outcome": "no"}, headers=admin.headers
    )
    assert resolved.status_code == 200, resolved.text
    await wait_for_status(api, mid, "settled")

    assert await market_maker_balance() - before == 10 * DOLLARS
    assert int((await market_row(mid)).amm_position) == 0
    assert await escrow_micros(mid) == 0
    async with connection() as conn:
        assert (await reconcile(conn)).ok
