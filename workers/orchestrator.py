"""The Orchestrator's worker: every workflow of the platform (task queue `orchestrator`)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.client import Client

from activities.health import make_ping
from core.config import get_settings
from core.names import ACCOUNTS, ORCHESTRATOR, task_queue
from workers.base import WorkerComponents, serve
from workers.schedules import ensure_reconciliation_schedule
from workflows.market import MarketWorkflow
from workflows.notifications import AlertTimerWorkflow, NotificationDeliveryWorkflow
from workflows.payments import DepositWorkflow, WithdrawalWorkflow
from workflows.payout import PayoutWorkflow
from workflows.reconciliation import ReconciliationWorkflow
from workflows.system_check import SystemCheckWorkflow


async def _schedule_reconciliation(client: Client) -> None:
    interval = timedelta(seconds=get_settings().reconciliation_interval_seconds)
    await ensure_reconciliation_schedule(
        client, task_queue(ORCHESTRATOR), task_queue(ACCOUNTS), interval
    )


def components() -> WorkerComponents:
    return WorkerComponents(
        workflows=[
            SystemCheckWorkflow,
            MarketWorkflow,
            PayoutWorkflow,
            DepositWorkflow,
            WithdrawalWorkflow,
            ReconciliationWorkflow,
            NotificationDeliveryWorkflow,
            AlertTimerWorkflow,
        ],
        activities=[make_ping(ORCHESTRATOR)],
        on_start=_schedule_reconciliation,
    )


if __name__ == "__main__":
    asyncio.run(serve(ORCHESTRATOR, components()))
