"""ReconciliationWorkflow: run by a Temporal Schedule every minute. When the books do not
reconcile it notifies the admins and halts the markets whose escrow is wrong."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.reconciliation import AlertAdmins
    from services.accounts.reconciliation import BooksReport

_RETRY = RetryPolicy(maximum_attempts=5, initial_interval=timedelta(seconds=1))


class ReconciliationInput(BaseModel):
    accounts_queue: str


@workflow.defn(name="Reconciliation")
class ReconciliationWorkflow:
    @workflow.run
    async def run(self, request: ReconciliationInput) -> BooksReport:
        report = await workflow.execute_activity(
            "accounts.check_books",
            task_queue=request.accounts_queue,
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=_RETRY,
            result_type=BooksReport,
        )
        if not report.ok:
            workflow.logger.error("the books do not reconcile: %s", report)
            await workflow.execute_activity(
                "accounts.alert_admins",
                AlertAdmins(report=report, check_id=workflow.info().workflow_id),
                task_queue=request.accounts_queue,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=_RETRY,
            )
            for market_id in report.markets_with_wrong_escrow:
                try:
                    await workflow.get_external_workflow_handle(f"market-{market_id}").signal(
                        "halt", "reconciliation failed"
                    )
                except Exception as exc:  # a finished market has no workflow left to halt
                    workflow.logger.warning("could not halt market %s: %s", market_id, exc)
        return report
