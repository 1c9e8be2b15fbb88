"""Double-spend attempts: orders and withdrawals racing for the same dollars, and duplicate
client_order_ids racing each other. Exactly the right ones win, every time."""

from __future__ import annotations

import asyncio

import httpx

from core.db import connection
from services.accounts.ledger import reconcile
from tests.helpers import fund, register
from tests.trading.helpers import create_market, order, wallet_micros

DOLLARS = 1_000_000


async def test_orders_and_withdrawals_racing_for_the_same_dollars(
    api: httpx.AsyncClient,
) -> None:
    admin = await register(api, admin=True)
    racer = await register(api)
    await fund(racer.id, 100 * DOLLARS)
    market = (await create_market(api, admin, taker_fee_rate="0"))["id"]

    async def buy(i: int) -> httpx.Response:  # each holds exactly $30 (it rests, no fee)
        return await order(api, racer, market, action="buy", side="yes", count=100, price="0.30")

    async def withdraw(i: int) -> httpx.Response:
        return await api.post(
            "/v1/me/withdrawals",
            json={"amount": "30.00", "idempotency_key": f"race-{i}"},
            headers=racer.headers,
        )

    results = await asyncio.gather(*(buy(i) for i in range(8)), *(withdraw(i) for i in range(8)))
    won = [r for r in results if r.status_code in (201, 202)]
    lost = [r for r in results if r.status_code == 409]
    assert len(won) + len(lost) == len(results), [r.text for r in results]
    assert {r.json()["error"]["code"] for r in lost} == {"insufficient_funds"}
    assert len(won) == 3  # $90 of $100; a fourth $30 never fits
    available, reserved = await wallet_micros(racer.id)
    assert available >= 0 and reserved >= 0
    assert available + reserved <= 100 * DOLLARS
    async with connection() as conn:
        assert (await reconcile(conn)).ok


async def test_duplicate_client_order_ids_racing_place_one_order(api: httpx.AsyncClient) -> None:
    admin = await register(api, admin=True)
    bot = await register(api)
    await fund(bot.id, 100 * DOLLARS)
    market = (await create_market(api, admin))["id"]
    body = {"action": "buy", "side": "yes", "count": 10, "price": "0.25", "client_order_id": "dup"}
    results = await asyncio.gather(*(order(api, bot, market, **body) for _ in range(10)))
    assert all(r.status_code in (200, 201) for r in results), [r.text for r in results]
    assert len({r.json()["id"] for r in results}) == 1
    assert await wallet_micros(bot.id) == (100 * DOLLARS - 2_500_000, 2_500_000)


async def test_cancels_racing_fills_settle_each_contract_once(api: httpx.AsyncClient) -> None:
    admin = await register(api, admin=True)
    maker, taker = await register(api), await register(api)
    await fund(maker.id, 100 * DOLLARS)
    await fund(taker.id, 100 * DOLLARS)
    market = (await create_market(api, admin, taker_fee_rate="0"))["id"]
    resting = (
        await order(api, maker, market, action="buy", side="yes", count=50, price="0.50")
    ).json()
    cancel = api.delete(f"/v1/orders/{resting['id']}", headers=maker.headers)
    takes = [
        order(api, taker, market, action="sell", side="yes", count=10, price="0.50",
              time_in_force="ioc")
        for _ in range(5)
    ]  # fmt: skip
    results = await asyncio.gather(cancel, *takes)
    filled = sum(r.json()["filled_count"] for r in results[1:] if r.status_code == 201)
    final = (await api.get(f"/v1/orders/{resting['id']}", headers=maker.headers)).json()
    assert final["filled_count"] == filled  # every contract the takers got came from the maker
    assert final["status"] in ("cancelled", "filled")
    # The maker paid exactly for what filled; the rest of the hold came back.
    assert await wallet_micros(maker.id) == (100 * DOLLARS - filled * 500_000, 0)
    async with connection() as conn:
        assert (await reconcile(conn)).ok
