"""Many orders at once, a market rolling over under load, a trade-engine worker killed mid-flow:
every accepted order is recorded exactly once and the books balance afterwards."""

from __future__ import annotations

import asyncio
import random
import signal
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text
from temporalio.client import Client

from core.config import get_settings
from core.db import connection, transaction
from core.names import market_workflow_id
from models.trading import MarketStateView
from services.accounts.ledger import reconcile
from services.trading.markets import CreateMarketRequest, insert_market, start_market_workflow
from tests.helpers import Client as User
from tests.helpers import fund, register
from tests.processes import spawn_oddsmith
from tests.trading.helpers import create_market, order

DOLLARS = 1_000_000


async def _assert_books_balance() -> None:
    async with connection() as conn:
        report = await reconcile(conn)
        assert report.ok, report
        mismatched = (
            await conn.execute(
                text(
                    "SELECT m.id FROM markets m JOIN ledger_accounts a "
                    "ON a.kind = 'market_escrow' AND a.market_id = m.id "
                    "WHERE a.balance <> m.open_interest * 1000000"
                )
            )
        ).all()
        assert mismatched == []
        positions = (
            await conn.execute(
                text(
                    "SELECT m.id FROM markets m WHERE m.open_interest * 2 <> "
                    "(SELECT coalesce(sum(abs(position)), 0) FROM positions p "
                    "WHERE p.market_id = m.id) + abs(m.amm_position)"
                )
            )
        ).all()
        assert positions == []


async def _random_orders(
    api: httpx.AsyncClient, users: list[User], market_ids: list[str], n: int, seed: int
) -> list[httpx.Response]:
    rng = random.Random(seed)

    async def one(i: int) -> httpx.Response:
        user = rng.choice(users)
        return await order(
            api,
            user,
            rng.choice(market_ids),
            action=rng.choice(["buy", "sell"]),
            side=rng.choice(["yes", "no"]),
            count=rng.randint(1, 20),
            price=f"0.{rng.randint(30, 70):02d}",
            client_order_id=f"c-{seed}-{i}",
        )

    return await asyncio.gather(*(one(i) for i in range(n)))


async def test_many_concurrent_orders_on_several_markets_keep_the_books_exact(
    api: httpx.AsyncClient,
) -> None:
    admin = await register(api, admin=True)
    users = [await register(api) for _ in range(8)]
    for u in users:
        await fund(u.id, 500 * DOLLARS)
    markets = [(await create_market(api, admin))["id"] for _ in range(3)]
    responses = await _random_orders(api, users, markets, 240, seed=7)
    accepted = [r for r in responses if r.status_code == 201]
    refused = [r for r in responses if r.status_code != 201]
    assert all(r.status_code == 409 for r in refused), [r.text for r in refused][:3]
    assert len(accepted) > 150
    ids = [r.json()["id"] for r in accepted]
    assert len(set(ids)) == len(ids)
    async with connection() as conn:
        stored = (
            await conn.execute(
                text("SELECT count(*) FROM orders WHERE id = ANY(:ids)"), {"ids": ids}
            )
        ).scalar_one()
    assert stored == len(ids)
    assert sum(r.json()["filled_count"] for r in accepted) > 0
    await _assert_books_balance()


async def test_a_market_rolls_over_under_continuous_flow_without_a_failed_request(
    api: httpx.AsyncClient, temporal_client: Client
) -> None:
    admin = await register(api, admin=True)
    users = [await register(api) for _ in range(4)]
    for u in users:
        await fund(u.id, 1000 * DOLLARS)
    settings = get_settings()
    settings.market_rollover_events = 50
    try:
        market = (await create_market(api, admin))["id"]
    finally:
        settings.market_rollover_events = 0
    responses: list[httpx.Response] = []
    for wave in range(6):
        responses += await _random_orders(api, users, [market], 40, seed=100 + wave)
    assert [r.status_code for r in responses if r.status_code not in (201, 409)] == []
    assert not [
        r
        for r in responses
        if r.status_code == 409
        and r.json()["error"]["code"] not in ("insufficient_funds", "insufficient_position")
    ]
    state = await temporal_client.get_workflow_handle(market_workflow_id(market)).query(
        "state", result_type=MarketStateView
    )
    assert state.run > 1, state
    await _assert_books_balance()


async def _kill_worker_mid_flow(
    api: httpx.AsyncClient, temporal_client: Client, seed: int, standby: bool
) -> None:
    """Run waves of orders on a market whose trade-engine worker (the host of its workflow and
    its batches) is a subprocess, SIGKILL that worker once batches are committing, and check
    nothing was lost or doubled. The flow resumes on a worker started after the kill, or, with
    `standby`, on a second worker that was polling all along."""
    queue = "trade-engine"
    users = [await register(api) for _ in range(6)]
    for u in users:
        await fund(u.id, 500 * DOLLARS)
    prefix = f"kill-{uuid.uuid4().hex[:8]}-"
    request = CreateMarketRequest(
        title=f"Fault injection market ({queue})",
        close_time=datetime.now(UTC) + timedelta(hours=1),
    )
    async with transaction() as conn:
        row = await insert_market(conn, request)
    worker = spawn_oddsmith("worker", queue, TASK_QUEUE_PREFIX=prefix)
    await start_market_workflow(
        temporal_client,
        row,
        trade_engine_queue=f"{prefix}{queue}",
    )
    market = str(row.id)

    async def waves() -> list[httpx.Response]:
        # Waves keep orders flowing for a while, so the kill lands in the middle of them.
        responses: list[httpx.Response] = []
        for wave in range(6):
            responses += await _random_orders(api, users, [market], 50, seed=seed + wave)
        return responses

    flow = asyncio.create_task(waves())
    async with connection() as conn:
        for _ in range(400):
            applied = (
                await conn.execute(
                    text("SELECT count(*) FROM trade_batches WHERE market_id = :m"),
                    {"m": row.id},
                )
            ).scalar_one()
            if applied >= 2:
                break
            await asyncio.sleep(0.02)
    assert not flow.done()  # the worker dies while orders are still flowing
    if standby:
        replacement = spawn_oddsmith("worker", queue, TASK_QUEUE_PREFIX=prefix)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    if not standby:
        replacement = spawn_oddsmith("worker", queue, TASK_QUEUE_PREFIX=prefix)
    try:
        responses = await asyncio.wait_for(flow, timeout=240)
    finally:
        replacement.send_signal(signal.SIGTERM)
        replacement.wait(30)
    assert [r.text for r in responses if r.status_code not in (201, 409)] == []
    accepted = [r.json() for r in responses if r.status_code == 201]
    async with connection() as conn:
        rows = (
            await conn.execute(
                text("SELECT id, client_order_id FROM orders WHERE market_id = :m"), {"m": row.id}
            )
        ).all()
    assert len(rows) == len(accepted)  # nothing lost, nothing doubled
    assert {r.id for r in rows} == {o["id"] for o in accepted}
    assert len({r.client_order_id for r in rows}) == len(rows)
    await _assert_books_balance()


async def test_killing_the_trade_engine_worker_mid_flow_loses_and_doubles_nothing(
    api: httpx.AsyncClient, temporal_client: Client
) -> None:
    await _kill_worker_mid_flow(api, temporal_client, seed=42, standby=False)


async def test_a_standby_trade_engine_worker_takes_over_a_killed_ones_markets(
    api: httpx.AsyncClient, temporal_client: Client
) -> None:
    await _kill_worker_mid_flow(api, temporal_client, seed=900, standby=True)
