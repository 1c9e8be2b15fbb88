"""Orders through the HTTP API, the MarketWorkflow and the trade engine, with exact money."""

from __future__ import annotations

import httpx

from core.db import connection
from services.accounts.ledger import reconcile
from tests.helpers import fund, register
from tests.trading.helpers import create_market, escrow_micros, market_row, order, wallet_micros

DOLLARS = 1_000_000


async def test_yes_bid_and_no_bid_that_cross_mint_pairs_into_escrow(api: httpx.AsyncClient) -> None:
    admin = await register(api, admin=True)
    alice, bob = await register(api), await register(api)
    await fund(alice.id, 100 * DOLLARS)
    await fund(bob.id, 100 * DOLLARS)
    market = await create_market(api, admin)
    assert market["status"] == "open"

    resting = await order(api, alice, market["id"], action="buy", side="yes", count=10, price="0.60")
    assert resting.status_code == 201, resting.text
    assert resting.json()["status"] == "resting"
    taker = await order(api, bob, market["id"], action="buy", side="no", count=10, price="0.40")
    assert taker.status_code == 201, taker.text
    body = taker.json()
    assert body["status"] == "filled" and body["filled_count"] == 10
    assert body["avg_fill_price"] == "0.40"
    # Taker fee: ceil_to_cent(0.07 x 10 x 0.40 x 0.60) = ceil(0.168) = $0.17; maker pays none.
    assert body["fees"] == "0.17"
    assert [f["kind"] for f in body["fills"]] == ["mint"]

    assert await escrow_micros(market["id"]) == 10 * DOLLARS
    assert await wallet_micros(alice.id) == (94 * DOLLARS, 0)
    assert await wallet_micros(bob.id) == (100 * DOLLARS - 4 * DOLLARS - 170_000, 0)
    row = await market_row(market["id"])
    assert (row.open_interest, row.volume, row.last_price) == (10, 10, 600_000)

    positions = (await api.get("/v1/me/positions", headers=alice.headers)).json()
    assert positions[0]["side"] == "yes" and positions[0]["count"] == 10
    assert positions[0]["avg_price"] == "0.60"
    async with connection() as conn:
        assert (await reconcile(conn)).ok
