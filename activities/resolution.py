"""Resolution activities (trade-engine queue): thin adapters over services/trading/resolution."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from models.resolution import (
    FinishPayoutInput,
    FinishPayoutResult,
    PayHoldersInput,
    PayHoldersResult,
    PayoutProgress,
    RecordResolution,
)
from services.trading import resolution


class ResolutionActivities:
    """Every method is idempotent: by the row it writes, or by its ledger keys."""

    @activity.defn(name="resolution.record")
    async def record(self, record: RecordResolution) -> None:
        await resolution.record_resolution(record)

    @activity.defn(name="resolution.pay_holders")
    async def pay_holders(self, request: PayHoldersInput) -> PayHoldersResult:
        details = activity.info().heartbeat_details
        resume = PayoutProgress.model_validate(details[0]) if details else None
        return await resolution.pay_holders(request, resume, activity.heartbeat)

    @activity.defn(name="resolution.finish_payout")
    async def finish_payout(self, request: FinishPayoutInput) -> FinishPayoutResult:
        return await resolution.finish_payout(request)

    def all(self) -> list[Callable[..., Any]]:
        return [self.record, self.pay_holders, self.finish_payout]
