"""Temporal Schedules the platform keeps: created by the orchestrator worker at start-up."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)

from workflows.reconciliation import ReconciliationInput, ReconciliationWorkflow

SCHEDULE_ID = "ledger-reconciliation"


async def ensure_reconciliation_schedule(
    client: Client, orchestrator_queue: str, accounts_queue: str, every: timedelta
) -> None:
    """Create the schedule once; an existing one is left as it is."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            ReconciliationWorkflow.run,
            ReconciliationInput(accounts_queue=accounts_queue),
            id="reconciliation",
            task_queue=orchestrator_queue,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    try:
        await client.create_schedule(SCHEDULE_ID + "-" + orchestrator_queue, schedule)
    except ScheduleAlreadyRunningError:
        pass
