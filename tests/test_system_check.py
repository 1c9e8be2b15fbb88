"""Every service's worker answers on its own task queue."""

from __future__ import annotations

import uuid

from temporalio.client import Client

from core.names import SERVICE_QUEUES, system_check_workflow_id, task_queue
from workflows.system_check import SystemCheckInput, SystemCheckWorkflow


async def test_every_service_worker_answers_the_system_check(
    temporal_client: Client, workers: None
) -> None:
    result = await temporal_client.execute_workflow(
        SystemCheckWorkflow.run,
        SystemCheckInput(task_queues={q: task_queue(q) for q in SERVICE_QUEUES}),
        id=system_check_workflow_id(uuid.uuid4().hex[:8]),
        task_queue=task_queue("orchestrator"),
    )
    assert [a.service for a in result.answers] == list(SERVICE_QUEUES)
    assert all(q.startswith("test-") for q in (task_queue(s) for s in SERVICE_QUEUES))
