"""The Temporal server restarted while orders flow (persistent history, like `make run`):
requests made while it is down get 503 with Retry-After, the workers and the API reconnect by
themselves, and every accepted order is recorded exactly once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import text

from core.config import get_settings
from core.db import connection, transaction
from core.embedded import EmbeddedTemporal, free_port
from core.temporal import connect_temporal
from services.accounts.ledger import reconcile
from services.trading.markets import CreateMarketRequest, insert_market, start_market_workflow
from tests.helpers import fund, register
from tests.processes import spawn_oddsmith, wait_healthy


async def test_orders_survive_a_temporal_restart(api: httpx.AsyncClient, tmp_path: Path) -> None:
    temporal = EmbeddedTemporal(
        port=free_port(), ui_port=None, db_file=tmp_path / "temporal.db",
        log_file=tmp_path / "temporal.log",
    )  # fmt: skip
    temporal.start()
    prefix = f"restart-{uuid.uuid4().hex[:6]}-"
    env = {"TEMPORAL_ADDRESS": temporal.address, "TASK_QUEUE_PREFIX": prefix}
    port = free_port()
    children = [
        spawn_oddsmith("worker", "orchestrator", **env),
        spawn_oddsmith("worker", "trade-engine", **env),
        spawn_oddsmith("worker", "accounts", **env),
        spawn_oddsmith("worker", "notifications", **env),
        spawn_oddsmith("api", **env, API_PORT=str(port)),
    ]
    try:
        users = [await register(api) for _ in range(3)]
        for u in users:
            await fund(u.id, 100 * 1_000_000)
        request = CreateMarketRequest(
            title="Restart market", close_time=datetime.now(UTC) + timedelta(hours=1)
        )
        async with transaction() as conn:
            row = await insert_market(conn, request)
        settings_client = await connect_temporal(
            get_settings().model_copy(update={"temporal_address": temporal.address})
        )
        await start_market_workflow(
            settings_client, row, trade_engine_queue=f"{prefix}trade-engine"
        )
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=90) as client:
            await wait_healthy(client)

            async def place(i: int) -> httpx.Response:
                return await client.post(
                    f"/v1/markets/{row.id}/orders",
                    json={
                        "action": "buy" if i % 2 else "sell", "side": "yes", "count": 1,
                        "price": f"0.{45 + i % 10}", "client_order_id": f"t-restart-{i}",
                    },
                    headers=users[i % 3].headers,
                )  # fmt: skip

            before = await asyncio.gather(*(place(i) for i in range(30)))
            assert {r.status_code for r in before} <= {201, 409}
            temporal.stop()
            during = await place(1000)
            assert during.status_code == 503 and during.headers["retry-after"]
            temporal.start()
            after: list[httpx.Response] = []
            for i in range(30, 60):  # clients retry until the platform answers again
                for _ in range(100):
                    response = await place(i)
                    if response.status_code != 503:
                        break
                    await asyncio.sleep(0.2)
                after.append(response)
            assert {r.status_code for r in after} <= {201, 409}, [r.text for r in after][:3]
        placed = {r.json()["id"] for r in [*before, *after] if r.status_code == 201}
        async with connection() as conn:
            rows = (
                await conn.execute(
                    text("SELECT id FROM orders WHERE market_id = :m"), {"m": row.id}
                )
            ).all()
            assert (await reconcile(conn)).ok
        assert {r.id for r in rows} == placed
        assert len(placed) > 20
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(30)
        temporal.stop()
