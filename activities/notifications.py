"""Notification activities (task queue `notifications`): thin adapters over
services/notifications, and `start_delivery`, the fire-and-forget start of a source's delivery
workflow that other activities call after their transaction commits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from core.config import get_settings
from core.db import transaction
from core.names import (
    NOTIFICATIONS,
    ORCHESTRATOR,
    alert_timer_workflow_id,
    notification_delivery_workflow_id,
    task_queue,
)
from models.notifications import (
    AlertCheck,
    AlertTimerState,
    DeliverRequest,
    DeliveryResult,
    DeliveryState,
    PagePlan,
    PageRequest,
    RelayRequest,
    WebhookFailure,
    WebhookFailureResult,
    WebhookRequest,
)
from services.notifications import delivery
from services.notifications.alerts import check_closing_soon, fire_market_resolved_alerts
from services.notifications.outbox import claim_payout_notifications, resolved_source
from workflows.notifications import AlertTimerWorkflow, NotificationDeliveryWorkflow

# How often the relay looks for new rows: the added delay of a trade's confirmation.
RELAY_POLL_SECONDS = 0.1


async def _relay_rows_gathered(request: RelayRequest) -> bool:
    """Long-poll for rows marked for the relay (a count on a partial index, not the page):
    True once a full page is waiting or `gather_seconds` have passed since the first row
    appeared, False if none appeared within `wait_seconds`."""
    started = time.monotonic()
    first_seen: float | None = None
    while True:
        marked = await delivery.count_marked_for_relay(request.limit)
        now = time.monotonic()
        if marked and first_seen is None:
            first_seen = now
        if marked >= request.limit or (
            first_seen is not None and now - first_seen >= request.gather_seconds
        ):
            return True
        if first_seen is None and now - started >= request.wait_seconds:
            return False
        activity.heartbeat()
        await asyncio.sleep(RELAY_POLL_SECONDS)


def delivery_state(source: str) -> DeliveryState:
    settings = get_settings()
    return DeliveryState(
        source=source,
        notifications_queue=task_queue(NOTIFICATIONS),
        webhook_attempts=settings.webhook_attempts,
        webhook_backoff_seconds=settings.webhook_backoff_seconds,
    )


async def start_delivery(client: Client, source: str) -> None:
    """Start `notify-<source>` and return at once. The id is deterministic and never reused,
    so a retried caller finds it started before and moves on."""
    try:
        await client.start_workflow(
            NotificationDeliveryWorkflow.run,
            delivery_state(source),
            id=notification_delivery_workflow_id(source),
            task_queue=task_queue(ORCHESTRATOR),
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        pass


async def start_alert_timer(client: Client, alert_id: int) -> None:
    settings = get_settings()
    try:
        await client.start_workflow(
            AlertTimerWorkflow.run,
            AlertTimerState(
                alert_id=alert_id,
                notifications_queue=task_queue(NOTIFICATIONS),
                webhook_attempts=settings.webhook_attempts,
                webhook_backoff_seconds=settings.webhook_backoff_seconds,
            ),
            id=alert_timer_workflow_id(alert_id),
            task_queue=task_queue(ORCHESTRATOR),
        )
    except WorkflowAlreadyStartedError:
        pass


class NotificationActivities:
    """Every method is idempotent per (notification, channel) through the deliveries table."""

    @activity.defn(name="notifications.plan_page")
    async def plan_page(self, request: PageRequest) -> PagePlan:
        return await delivery.plan_page(request.source, request.after_id, request.limit)

    @activity.defn(name="notifications.relay_page")
    async def relay_page(self, request: RelayRequest) -> PagePlan:
        """The relay's one step per page, so a page costs one activity (and its emails one
        more) instead of four: unmark the page before (its email and webhook deliveries are in
        the workflow's history by now), wait for marked rows, plan a page and deliver its
        stream. A retry repeats every part harmlessly: the stream is delivered exactly once."""
        if request.finished:
            await delivery.finish_relay(request.finished)
        settings = get_settings()
        plan = PagePlan(last_id=0, count=0)
        if await _relay_rows_gathered(request):
            plan = await delivery.plan_relay_page(request.limit)
        if plan.stream:
            activity.heartbeat()
            await delivery.deliver_stream(plan.stream)
        plan.webhook_attempts = settings.webhook_attempts
        plan.webhook_backoff_seconds = settings.webhook_backoff_seconds
        return plan

    @activity.defn(name="notifications.deliver_stream")
    async def deliver_stream(self, request: DeliverRequest) -> DeliveryResult:
        return await delivery.deliver_stream(request.notification_ids)

    @activity.defn(name="notifications.deliver_email")
    async def deliver_email(self, request: DeliverRequest) -> DeliveryResult:
        try:
            return await delivery.deliver_email(request.notification_ids)
        except (delivery.DeliveryError, OSError) as exc:
            raise ApplicationError(str(exc), type="EmailFailed") from exc

    @activity.defn(name="notifications.deliver_webhook")
    async def deliver_webhook(self, request: WebhookRequest) -> DeliveryResult:
        try:
            return await delivery.deliver_webhook(request.user_id, request.notification_ids)
        except delivery.DeliveryError as exc:
            raise ApplicationError(str(exc), type="WebhookFailed") from exc

    @activity.defn(name="notifications.webhook_failed")
    async def webhook_failed(self, failure: WebhookFailure) -> WebhookFailureResult:
        return await delivery.record_webhook_failure(
            failure.user_id, failure.error, get_settings().webhook_max_failures, failure.key
        )

    @activity.defn(name="notifications.check_closing_soon")
    async def check_closing_soon(self, state: AlertTimerState) -> AlertCheck:
        async with transaction() as conn:
            source, wait = await check_closing_soon(conn, state.alert_id, datetime.now(UTC))
        return AlertCheck(fired_source=source, wait_until=wait)

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.plan_page,
            self.relay_page,
            self.deliver_stream,
            self.deliver_email,
            self.deliver_webhook,
            self.webhook_failed,
            self.check_closing_soon,
        ]


# ---------------------------------------------------------------- hooks for resolution


async def notify_resolution(client: Client, market_id: int, status: str) -> None:
    """After the market's status is written: a final outcome fires `market_resolved` alerts."""
    if status != "resolved":
        return
    source = resolved_source(market_id)
    async with transaction() as conn:
        await fire_market_resolved_alerts(conn, market_id, source)
    await start_delivery(client, source)


async def notify_payout_page(
    client: Client, market_id: int, after_user_id: int, last_user_id: int
) -> None:
    """After a payout page: deliver its holders' outcome-and-payout notices."""
    if last_user_id <= after_user_id:
        return
    async with transaction() as conn:
        source = await claim_payout_notifications(conn, market_id, after_user_id, last_user_id)
    await start_delivery(client, source)
