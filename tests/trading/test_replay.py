"""The market workflow replays its own history: its run loop is deterministic (it runs outside
the workflow sandbox, so this is the check that guards it)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from core.names import market_workflow_id
from tests.helpers import fund, register
from tests.trading.helpers import create_market, order
from workflows.market import MarketWorkflow
from workflows.payout import PayoutWorkflow

DOLLARS = 1_000_000


async def test_a_busy_market_history_replays_without_nondeterminism(
    api: httpx.AsyncClient, temporal_client: Client
) -> None:
    admin = await register(api, admin=True)
    users = [await register(api) for _ in range(3)]
    for u in users:
        await fund(u.id, 100 * DOLLARS)
    mid = (await create_market(api, admin))["id"]
    expires = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    await order(
        api, users[0], mid, action="buy", side="yes", count=3, price="0.20",
        time_in_force="gtd", expires_at=expires,
    )  # fmt: skip

    async def one(i: int) -> httpx.Response:
        side = "buy" if i % 2 else "sell"
        price = f"0.{45 + i % 10}"
        return await order(api, users[i % 3], mid, action=side, side="yes", count=1, price=price)

    placed = await asyncio.gather(*(one(i) for i in range(40)))
    assert {r.status_code for r in placed} <= {201, 409}
    for user in users:  # cancel-all, where anything rests
        await api.delete(f"/v1/markets/{mid}/orders", headers=user.headers)
    assert (await api.post(f"/v1/markets/{mid}/pause", headers=admin.headers)).status_code == 200
    assert (await api.post(f"/v1/markets/{mid}/resume", headers=admin.headers)).status_code == 200
    await asyncio.sleep(1.2)  # the GTD order expires on the deadline timer
    await order(api, users[1], mid, action="buy", side="no", count=2, price="0.30")
    assert (await api.post(f"/v1/markets/{mid}/close", headers=admin.headers)).status_code == 200

    history = await temporal_client.get_workflow_handle(market_workflow_id(mid)).fetch_history()
    replayer = Replayer(
        workflows=[MarketWorkflow, PayoutWorkflow], data_converter=pydantic_data_converter
    )
    await replayer.replay_workflow(history)
