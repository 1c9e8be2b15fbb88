"""Resolution activities (trade-engine queue): thin adapters over services/trading/resolution."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from activities.notifications import notify_payout_page, notify_resolution
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
        # Notifications: a final outcome fires users' market_resolved alerts.
        await notify_resolution(activity.client(), int(record.market_id), record.status)

    @activity.defn(name="resolution.pay_holders")
    async def pay_holders(self, request: PayHoldersInput) -> PayHoldersResult:
        details = activity.info().heartbeat_details
        resume = PayoutProgress.model_validate(details[0]) if details else None
        result = await resolution.pay_holders(request, resume, activity.heartbeat)
        # Notifications: deliver this page's payout notices (fire-and-forget).
        await notify_payout_page(
            activity.client(), int(request.market_id), request.after_user_id, result.last_user_id
        )
        return result

    @activity.defn(name="resolution.finish_payout")
    async def finish_payout(self, request: FinishPayoutInput) -> FinishPayoutResult:
        return await resolution.finish_payout(request)

    def all(self) -> list[Callable[..., Any]]:
        return [self.record, self.pay_holders, self.finish_payout]
