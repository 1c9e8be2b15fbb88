"""SystemCheckWorkflow: asks every service's worker to answer, so operators see the whole stack."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.health import PingResult


class SystemCheckInput(BaseModel):
    task_queues: dict[str, str]  # service -> its task queue


class SystemCheckResult(BaseModel):
    answers: list[PingResult]


@workflow.defn(name="SystemCheck")
class SystemCheckWorkflow:
    @workflow.run
    async def run(self, check: SystemCheckInput) -> SystemCheckResult:
        answers = []
        for service, queue in check.task_queues.items():
            answer = await workflow.execute_activity(
                f"{service}.ping",
                task_queue=queue,
                start_to_close_timeout=timedelta(seconds=10),
                retry_policy=RetryPolicy(maximum_attempts=3),
                result_type=PingResult,
            )
            answers.append(answer)
        return SystemCheckResult(answers=answers)
