"""The Orchestrator's worker (task queue `orchestrator`): the platform's workflows except the
market workflows and their payouts, which the trade-engine worker hosts."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.client import Client

from activities.health import make_ping
from core.config import get_settings
from core.names import ACCOUNTS, ORCHESTRATOR, task_queue
from workers.base import WorkerComponents, serve
from workers.schedules import ensure_notification_relay, ensure_reconciliation_schedule
from workflows.notifications import (
    AlertTimerWorkflow,
    NotificationDeliveryWorkflow,
    NotificationRelayWorkflow,
)
from workflows.payments import DepositWorkflow, WithdrawalWorkflow
from workflows.reconciliation import ReconciliationWorkflow
from workflows.system_check import SystemCheckWorkflow


async def _ensure_standing_work(client: Client) -> None:
    interval = timedelta(seconds=get_settings().reconciliation_interval_seconds)
    await ensure_reconciliation_schedule(
        client, task_queue(ORCHESTRATOR), task_queue(ACCOUNTS), interval
    )
    await ensure_notification_relay(client, task_queue(ORCHESTRATOR))


def components() -> WorkerComponents:
    return WorkerComponents(
        workflows=[
            SystemCheckWorkflow,
            DepositWorkflow,
            WithdrawalWorkflow,
            ReconciliationWorkflow,
            NotificationDeliveryWorkflow,
            NotificationRelayWorkflow,
            AlertTimerWorkflow,
        ],
        activities=[make_ping(ORCHESTRATOR)],
        on_start=_ensure_standing_work,
    )


if __name__ == "__main__":
    asyncio.run(serve(ORCHESTRATOR, components()))
