"""What the platform keeps running in Temporal, ensured by the orchestrator worker at start-up:
the reconciliation Schedule and the notification relay."""

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
    WorkflowExecutionStatus,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from core.names import NOTIFICATIONS, notification_relay_workflow_id, task_queue
from models.notifications import RelayState
from workflows.notifications import RELAY_WORKFLOW_TYPE, NotificationRelayWorkflow
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


async def ensure_notification_relay(client: Client, orchestrator_queue: str) -> None:
    """Start the relay unless it runs already (every orchestrator worker calls this)."""
    await replace_older_relay(client, notification_relay_workflow_id())
    await client.start_workflow(
        NotificationRelayWorkflow.run,
        RelayState(notifications_queue=task_queue(NOTIFICATIONS)),
        id=notification_relay_workflow_id(),
        task_queue=orchestrator_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


async def replace_older_relay(client: Client, relay_id: str) -> None:
    """Terminate a running relay of an older type: its history would not replay on this code.
    Rows it had not unmarked stay marked, and the new relay delivers them (nothing twice:
    deliveries are recorded per notification and channel)."""
    handle = client.get_workflow_handle(relay_id)
    try:
        described = await handle.describe()
        if (
            described.status == WorkflowExecutionStatus.RUNNING
            and described.workflow_type != RELAY_WORKFLOW_TYPE
        ):
            await handle.terminate(reason=f"replaced by {RELAY_WORKFLOW_TYPE}")
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:  # none yet, or it ended meanwhile
            raise
