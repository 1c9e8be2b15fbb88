"""PayoutWorkflow (id `payout-<market id>`): pays every holder of a resolved market.

A child of the MarketWorkflow. It pages through the holders in user-id order, one activity per
page (each activity pays its page a chunk per transaction and heartbeats its progress), and
continues as new every few pages so a market with many holders never grows a large history.
When nobody is left it pays the AMM's contracts to the market-maker account and sweeps any
rounding remainder to fees: escrow ends at exactly zero.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from models.resolution import (
        FinishPayoutInput,
        FinishPayoutResult,
        PayHoldersInput,
        PayHoldersResult,
        PayoutState,
    )

PAY_HOLDERS = "resolution.pay_holders"
FINISH_PAYOUT = "resolution.finish_payout"
PAYOUT_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
)


@workflow.defn(name="Payout")
class PayoutWorkflow:
    @workflow.init
    def __init__(self, state: PayoutState) -> None:
        self.payout = state

    @workflow.run
    async def run(self, state: PayoutState) -> PayoutState:
        while not self.payout.finished:
            if self.payout.activities_run >= self.payout.activities_per_run:
                self.payout.activities_run = 0
                self.payout.runs += 1
                workflow.continue_as_new(self.payout)
            await self._pay_next_page()
        await self._close_escrow()
        return self.payout

    async def _pay_next_page(self) -> None:
        p = self.payout
        result = await workflow.execute_activity(
            PAY_HOLDERS,
            PayHoldersInput(
                market_id=p.market_id,
                outcome=p.outcome,
                settlement_value=p.settlement_value,
                after_user_id=p.after_user_id,
                max_holders=p.holders_per_activity,
            ),
            task_queue=p.trade_engine_queue,
            start_to_close_timeout=timedelta(minutes=5),
            heartbeat_timeout=timedelta(seconds=30),
            retry_policy=PAYOUT_RETRY,
            result_type=PayHoldersResult,
        )
        p.activities_run += 1
        p.after_user_id = result.last_user_id
        p.holders_paid += result.holders_paid
        p.amount_paid += result.amount_paid
        p.finished = result.done

    async def _close_escrow(self) -> None:
        p = self.payout
        await workflow.execute_activity(
            FINISH_PAYOUT,
            FinishPayoutInput(
                market_id=p.market_id, outcome=p.outcome, settlement_value=p.settlement_value
            ),
            task_queue=p.trade_engine_queue,
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=PAYOUT_RETRY,
            result_type=FinishPayoutResult,
        )

    @workflow.query
    def progress(self) -> PayoutState:
        """Holders paid so far (`temporal workflow query --type progress`)."""
        return self.payout
