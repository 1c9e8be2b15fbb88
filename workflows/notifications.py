"""Notification delivery: the relay of every trade batch's notifications (`notification-relay`),
the delivery of one other source (`notify-<source>`), and closing-soon alert timers
(`alert-<id>`).

The delivery workflow pages through the notifications one source (an alert, a payment, a
payout page) stored in the outbox, and for each page runs the channels side by side on the
`notifications` queue: the user's stream and email as one activity each, webhooks as one
activity per user (retried with backoff; when one gives up, the failure is counted and the
webhook disabled after too many). A failing channel is logged and skipped: it never blocks
the other channels, the next page, or the trade that caused the notifications (nobody waits
for this workflow). It continues as new every few pages, so a fan-out to thousands of holders
keeps a small history.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from core.names import notification_delivery_workflow_id
    from models.notifications import (
        AlertCheck,
        AlertTimerState,
        DeliverRequest,
        DeliveryResult,
        DeliveryState,
        PagePlan,
        PageRequest,
        PagingDelivery,
        RelayRequest,
        RelayState,
        WebhookFailure,
        WebhookFailureResult,
        WebhookRequest,
    )

PLAN_PAGE = "notifications.plan_page"
RELAY_PAGE = "notifications.relay_page"
DELIVER_STREAM = "notifications.deliver_stream"
DELIVER_EMAIL = "notifications.deliver_email"
DELIVER_WEBHOOK = "notifications.deliver_webhook"
WEBHOOK_FAILED = "notifications.webhook_failed"
CHECK_CLOSING_SOON = "notifications.check_closing_soon"

DATABASE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
)
EMAIL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=60),
    maximum_attempts=6,
)


async def deliver_page(plan: PagePlan, settings: PagingDelivery, label: str) -> None:
    """Run every channel of one page side by side; a channel that gives up is logged and
    skipped (and a webhook's failure counted), never blocking the others."""
    steps = []
    if plan.stream:
        steps.append(_channel(DELIVER_STREAM, plan.stream, DATABASE_RETRY, settings, label))
    if plan.email:
        steps.append(_channel(DELIVER_EMAIL, plan.email, EMAIL_RETRY, settings, label))
    for user_id, ids in sorted(plan.webhook.items()):
        steps.append(_webhook(user_id, ids, settings, label))
    await asyncio.gather(*steps)


async def _channel(
    activity: str, ids: list[int], retry: RetryPolicy, settings: PagingDelivery, label: str
) -> None:
    try:
        await workflow.execute_activity(
            activity,
            DeliverRequest(notification_ids=ids),
            task_queue=settings.notifications_queue,
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=retry,
            result_type=DeliveryResult,
        )
    except ActivityError as exc:
        workflow.logger.warning("%s gave up for %s: %s", activity, label, exc)


async def _webhook(user_id: int, ids: list[int], settings: PagingDelivery, label: str) -> None:
    try:
        await workflow.execute_activity(
            DELIVER_WEBHOOK,
            WebhookRequest(user_id=user_id, notification_ids=ids),
            task_queue=settings.notifications_queue,
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(seconds=settings.webhook_backoff_seconds),
                backoff_coefficient=2.0,
                maximum_interval=timedelta(minutes=5),
                maximum_attempts=settings.webhook_attempts,
            ),
            result_type=DeliveryResult,
        )
        return
    except ActivityError as exc:
        error = str(exc.cause or exc)
    failure = await workflow.execute_activity(
        WEBHOOK_FAILED,
        WebhookFailure(user_id=user_id, error=error[:500], key=f"{label}:{ids[0]}"),
        task_queue=settings.notifications_queue,
        start_to_close_timeout=timedelta(seconds=30),
        retry_policy=DATABASE_RETRY,
        result_type=WebhookFailureResult,
    )
    if failure.notice_source is not None:
        await start_delivery_child(failure.notice_source, settings)


@workflow.defn(name="NotificationDelivery")
class NotificationDeliveryWorkflow:
    @workflow.init
    def __init__(self, state: DeliveryState) -> None:
        self.state = state

    @workflow.run
    async def run(self, state: DeliveryState) -> DeliveryState:
        while True:
            if self.state.pages_run >= self.state.pages_per_run:
                self.state.pages_run = 0
                workflow.continue_as_new(self.state)
            plan = await self._plan_next_page()
            if plan.count:
                await deliver_page(plan, self.state, self.state.source)
            self.state.after_id = plan.last_id
            self.state.pages_run += 1
            self.state.delivered += plan.count
            if plan.count < self.state.page_size:
                return self.state

    async def _plan_next_page(self) -> PagePlan:
        s = self.state
        return await workflow.execute_activity(
            PLAN_PAGE,
            PageRequest(source=s.source, after_id=s.after_id, limit=s.page_size),
            task_queue=s.notifications_queue,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=DATABASE_RETRY,
            result_type=PagePlan,
        )

    @workflow.query
    def progress(self) -> DeliveryState:
        return self.state


# The name changed with the relay's steps (four activities a page became one): a relay started
# by older code is replaced at start-up instead of failing to replay (workers/schedules.py).
RELAY_WORKFLOW_TYPE = "NotificationRelayPages"


@workflow.defn(name=RELAY_WORKFLOW_TYPE)
class NotificationRelayWorkflow:
    """The standing delivery of every trade batch's notifications (id `notification-relay`).

    A batch marks its notifications in its own transaction. One activity per page waits for
    marked rows (a long poll), plans the page and delivers its stream; the next one unmarks
    it. One workflow for the whole platform instead of one per batch, and one activity per
    page: under load a page covers many batches, so the relay's cost no longer grows with the
    trade rate. A crash before the unmarking re-plans the page; deliveries are idempotent per
    channel.

    Email and webhooks, which retry with backoff against servers that may be down, carry on in
    the background: their activities are scheduled in the same workflow task as the step that
    unmarks their page, so they are in this workflow's history before their rows leave the
    relay, and a failing receiver never holds up the next page. Past MAX_IN_FLIGHT of them the
    relay waits, and it lets them all finish before it continues as new."""

    MAX_IN_FLIGHT = 50

    @workflow.init
    def __init__(self, state: RelayState) -> None:
        self.state = state
        self.in_flight: set[asyncio.Task[None]] = set()

    @workflow.run
    async def run(self, state: RelayState) -> None:
        while True:
            if self.state.pages_run >= self.state.pages_per_run:
                await workflow.wait_condition(lambda: not self.in_flight)
                self.state.pages_run = 0
                workflow.continue_as_new(self.state)
            await workflow.wait_condition(lambda: len(self.in_flight) < self.MAX_IN_FLIGHT)
            plan = await self._next_page()
            if plan.webhook_attempts is not None:
                self.state.webhook_attempts = plan.webhook_attempts
            if plan.webhook_backoff_seconds is not None:
                self.state.webhook_backoff_seconds = plan.webhook_backoff_seconds
            self._deliver_in_background(plan)
            self.state.finished = plan.ids
            self.state.pages_run += 1
            self.state.delivered += plan.count

    def _deliver_in_background(self, plan: PagePlan) -> None:
        slow = plan.model_copy(update={"stream": []})  # the step delivered the stream
        if slow.email or slow.webhook:
            task = asyncio.create_task(deliver_page(slow, self.state, "relay"))
            self.in_flight.add(task)
            task.add_done_callback(self.in_flight.discard)

    async def _next_page(self) -> PagePlan:
        s = self.state
        return await workflow.execute_activity(
            RELAY_PAGE,
            RelayRequest(
                limit=s.page_size,
                wait_seconds=s.wait_seconds,
                gather_seconds=s.gather_seconds,
                finished=s.finished,
            ),
            task_queue=s.notifications_queue,
            start_to_close_timeout=timedelta(seconds=s.wait_seconds + 60),
            heartbeat_timeout=timedelta(seconds=10),
            retry_policy=DATABASE_RETRY,
            result_type=PagePlan,
        )

    @workflow.query
    def progress(self) -> RelayState:
        return self.state


async def start_delivery_child(source: str, settings: PagingDelivery) -> None:
    """Deliver another source on its own (abandoned when this workflow ends)."""
    await workflow.start_child_workflow(
        NotificationDeliveryWorkflow.run,
        DeliveryState(
            source=source,
            notifications_queue=settings.notifications_queue,
            webhook_attempts=settings.webhook_attempts,
            webhook_backoff_seconds=settings.webhook_backoff_seconds,
        ),
        id=notification_delivery_workflow_id(source),
        parent_close_policy=ParentClosePolicy.ABANDON,
    )


@workflow.defn(name="AlertTimer")
class AlertTimerWorkflow:
    """Waits (on a durable timer) for a `closing_soon` alert's moment, then fires it once.
    If the market's close moves, it waits for the new moment; if the alert is deleted or the
    market closes first, it ends without firing."""

    @workflow.run
    async def run(self, state: AlertTimerState) -> bool:
        while True:
            check = await workflow.execute_activity(
                CHECK_CLOSING_SOON,
                state,
                task_queue=state.notifications_queue,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=DATABASE_RETRY,
                result_type=AlertCheck,
            )
            if check.fired_source is not None:
                await workflow.execute_child_workflow(
                    NotificationDeliveryWorkflow.run,
                    DeliveryState(
                        source=check.fired_source,
                        notifications_queue=state.notifications_queue,
                        webhook_attempts=state.webhook_attempts,
                        webhook_backoff_seconds=state.webhook_backoff_seconds,
                    ),
                    id=notification_delivery_workflow_id(check.fired_source),
                )
                return True
            if check.wait_until is None:
                return False
            delay = (check.wait_until - workflow.now()).total_seconds()
            # Wake at the moment, and at least hourly to notice a moved close time.
            await asyncio.sleep(min(max(delay, 0.0), 3600.0) + 0.05)
