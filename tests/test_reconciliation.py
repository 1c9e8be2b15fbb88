"""Continuous reconciliation: a schedule runs the check; a broken market is halted and the
admins are told."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
from sqlalchemy import text
from temporalio.client import Client

from core.db import connection, transaction
from core.names import ACCOUNTS, ORCHESTRATOR, task_queue
from tests.helpers import register
from tests.trading.helpers import create_market
from workers.schedules import SCHEDULE_ID, ensure_reconciliation_schedule
from workflows.reconciliation import ReconciliationInput, ReconciliationWorkflow


async def _run_check(client: Client) -> object:
    return await client.execute_workflow(
        ReconciliationWorkflow.run,
        ReconciliationInput(accounts_queue=task_queue(ACCOUNTS)),
        id=f"reconciliation-test-{uuid.uuid4().hex[:8]}",
        task_queue=task_queue(ORCHESTRATOR),
    )


async def test_the_books_reconcile(temporal_client: Client, workers: None) -> None:
    report = await _run_check(temporal_client)
    assert report.ok, report  # type: ignore[attr-defined]


async def test_a_market_whose_escrow_is_wrong_is_halted_and_admins_are_told(
    api: httpx.AsyncClient, temporal_client: Client
) -> None:
    admin = await register(api, admin=True)
    market = (await create_market(api, admin))["id"]
    async with transaction() as conn:  # break the books on purpose
        await conn.execute(
            text("UPDATE markets SET open_interest = open_interest + 1 WHERE id = :m"),
            {"m": int(market)},
        )
    try:
        report = await _run_check(temporal_client)
        assert not report.ok  # type: ignore[attr-defined]
        assert market in report.markets_with_wrong_escrow  # type: ignore[attr-defined]
        for _ in range(100):
            status = (await api.get(f"/v1/markets/{market}")).json()["status"]
            if status == "paused":
                break
            await asyncio.sleep(0.05)
        assert status == "paused"
        async with connection() as conn:
            told = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM notifications WHERE user_id = :u "
                        "AND kind = 'reconciliation_failed'"
                    ),
                    {"u": int(admin.id)},
                )
            ).scalar_one()
        assert told == 1
    finally:
        async with transaction() as conn:
            await conn.execute(
                text("UPDATE markets SET open_interest = 0 WHERE id = :m"),  # no trades here
                {"m": int(market)},
            )
    assert (await _run_check(temporal_client)).ok  # type: ignore[attr-defined]


async def test_the_schedule_runs_the_check_every_interval(
    temporal_client: Client, workers: None
) -> None:
    queue = task_queue(ORCHESTRATOR)
    await ensure_reconciliation_schedule(
        temporal_client, queue, task_queue(ACCOUNTS), timedelta(minutes=1)
    )
    await ensure_reconciliation_schedule(  # a second call leaves it as it is
        temporal_client, queue, task_queue(ACCOUNTS), timedelta(minutes=1)
    )
    handle = temporal_client.get_schedule_handle(f"{SCHEDULE_ID}-{queue}")
    description = await handle.describe()
    assert description.schedule.spec.intervals[0].every == timedelta(minutes=1)
    await handle.trigger()
    for _ in range(200):
        description = await handle.describe()
        if description.info.recent_actions:
            break
        await asyncio.sleep(0.05)
    assert description.info.recent_actions
