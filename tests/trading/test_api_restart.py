"""An API process killed while orders are in flight: clients retry with their client_order_id
against a fresh process and every order exists exactly once."""

from __future__ import annotations

import asyncio
import random
import signal

import httpx
from sqlalchemy import text

from core.db import connection
from core.embedded import free_port
from services.accounts.ledger import reconcile
from tests.helpers import fund, register
from tests.processes import spawn_oddsmith, wait_healthy
from tests.trading.helpers import create_market

DOLLARS = 1_000_000


async def test_orders_survive_an_api_restart_with_client_order_ids(
    api: httpx.AsyncClient, workers: None
) -> None:
    admin = await register(api, admin=True)
    users = [await register(api) for _ in range(4)]
    for u in users:
        await fund(u.id, 500 * DOLLARS)
    market = (await create_market(api, admin))["id"]
    rng = random.Random(5)
    bodies = [
        (
            rng.choice(users),
            {
                "action": rng.choice(["buy", "sell"]),
                "side": rng.choice(["yes", "no"]),
                "count": rng.randint(1, 5),
                "price": f"0.{rng.randint(40, 60)}",
                "client_order_id": f"restart-{i}",
            },
        )
        for i in range(120)
    ]
    port = free_port()
    proc = spawn_oddsmith("api", API_PORT=str(port))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        await wait_healthy(client)

        async def send(user: object, body: dict[str, object]) -> httpx.Response | None:
            try:
                return await client.post(
                    f"/v1/markets/{market}/orders",
                    json=body,
                    headers=user.headers,  # type: ignore[attr-defined]
                )
            # The process died under us: the client will retry. (On uvloop, a connection the
            # dying process resets can surface from anyio as AttributeError, not an HTTP error.)
            except (httpx.HTTPError, AttributeError):
                return None

        first = asyncio.gather(*(send(u, b) for u, b in bodies))
        await asyncio.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        answers = await first
        interrupted = sum(1 for a in answers if a is None)
        proc = spawn_oddsmith("api", API_PORT=str(port))
        try:
            await wait_healthy(client)
            retried = await asyncio.gather(*(send(u, b) for u, b in bodies))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)
    assert interrupted > 0  # the kill really landed mid-flow
    assert all(r is not None and r.status_code in (200, 201, 409) for r in retried)
    placed = {r.json()["id"] for r in retried if r is not None and r.status_code in (200, 201)}
    async with connection() as conn:
        rows = (
            await conn.execute(
                text("SELECT id, client_order_id FROM orders WHERE market_id = :m"),
                {"m": int(market)},
            )
        ).all()
        assert (await reconcile(conn)).ok
    assert {r.id for r in rows} == placed
    assert len({r.client_order_id for r in rows}) == len(rows)  # each client order once
