"""MarketWorkflow: the single writer of one market (workflow id `market-<id>`).

Orders and cancels arrive as Updates; validators refuse what is invalid before it is recorded.
The run loop batches pending requests into one trade-engine activity (one database transaction),
run as a local activity: the workflow is hosted by the trade-engine worker (task queue
`trade-engine`), so a batch costs one workflow task. It answers each update with its result.
Lifecycle timers open and close the market and expire GTD orders. Before the history grows
large, the workflow drains its handlers (refusing new updates with RollingOver, which the API
retries) and continues as new with its state.

Resolution: `resolve` (an admin's proposed outcome; it closes an open market first) starts the
dispute window on a durable timer (`resolving`); a holder's `dispute` sends it back to an admin
(`disputed`), who confirms (`confirm`, or `resolve` with the same outcome) or amends it (which
restarts the window). A final outcome (`resolved`) starts the PayoutWorkflow child; when it
has paid everyone the market is `settled` and this workflow completes.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from core.names import payout_workflow_id
    from models.resolution import (
        ConfirmRequest,
        DisputeRequest,
        PayoutState,
        RecordResolution,
        ResolutionInputError,
        ResolutionView,
        ResolveRequest,
    )
    from models.trading import (
        BatchInput,
        BatchItem,
        BatchItemResult,
        BatchOutput,
        CancelAllRequest,
        CancelAllResult,
        CancelOrderRequest,
        LifecycleRequest,
        MarketStateView,
        MarketWorkflowState,
        OrderView,
        PlaceOrderRequest,
        PlaceOrdersRequest,
        PlaceOrdersResult,
        RestingOrder,
    )
    from workflows.order_rules import OrderRuleError, check_order
    from workflows.payout import PayoutWorkflow

MARKET_ID = SearchAttributeKey.for_keyword("MarketId")
MARKET_STATUS = SearchAttributeKey.for_keyword("MarketStatus")

MAX_BATCH = 100
ORDER_ID_NAMESPACE = uuid.UUID("5b0f3c59-1c55-4f0e-9a57-7e2f6c8b6d41")  # fixed: ids must not change
# The server refuses updates past 2000 per run; roll over well before (TEMPORAL.md).
MAX_UPDATES_PER_RUN = 1500
TRADING = ("open",)
BEFORE_CLOSE = ("scheduled", "open", "paused")
FINAL = ("resolved", "settled")

APPLY_BATCH = "trading.apply_batch"
RECORD_RESOLUTION = "resolution.record"
BATCH_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=5),
)


def _reject(code: str, message: str) -> ApplicationError:
    return ApplicationError(message, type=code, non_retryable=True)


def _raise_error(result: BatchItemResult) -> BatchItemResult:
    if result.error_code:
        raise _reject(result.error_code, result.error_message or result.error_code)
    return result


# Outside the sandbox: under order load, entering it for every payload of every update (the
# SDK's serialization context) cost the trade-engine worker about as much CPU as the batches'
# database work. The module is pure (time and ids come from `workflow`), and
# tests/trading/test_replay.py replays a busy market's history to guard its determinism.
@workflow.defn(name="Market", sandboxed=False)
class MarketWorkflow:
    @workflow.init
    def __init__(self, state: MarketWorkflowState) -> None:
        self.market = state
        self.pending: list[tuple[BatchItem, asyncio.Future[BatchItemResult] | None]] = []
        # Orders waiting for a batch, by order id: a retry that arrives by another update
        # (a client_order_id's request in a group and alone) waits for the same answer.
        self.placing: dict[str, asyncio.Future[BatchItemResult]] = {}
        self.rolling_over = False
        self.updates_this_run = 0
        self.wake = False
        self.timer: asyncio.Task[None] | None = None
        self.timer_deadline_us: int | None = None
        # Resolution steps write the market's status in order, one at a time.
        self.resolution_lock = asyncio.Lock()

    # ------------------------------------------------------------ the run loop (plumbing)

    @workflow.run
    async def run(self, state: MarketWorkflowState) -> str:
        workflow.upsert_search_attributes(
            [
                MARKET_ID.value_set(self.market.config.market_id),
                MARKET_STATUS.value_set(state.status),
            ]
        )
        while True:
            self._enqueue_due_lifecycle()
            # Checked before every batch: under continuous flow `pending` is never empty, and
            # the server refuses updates past 2000 per run.
            if self._should_roll_over():
                await self._roll_over()
            if self.pending:
                await self._run_batch()
                continue
            if self._dispute_window_over():
                await self._finalize_outcome()
                continue
            if self.market.status == "resolved":
                await self._pay_out()
                return "settled"
            await self._sleep_until_work()

    async def _sleep_until_work(self) -> None:
        self._arm_deadline_timer()
        self.wake = False
        await workflow.wait_condition(
            lambda: (
                bool(self.pending)
                or self.wake
                or self.market.status == "resolved"
                or self._should_roll_over()
                or self._deadline_passed()
            )
        )

    def _arm_deadline_timer(self) -> None:
        """One durable timer for the next deadline (open, close, a GTD expiry, the dispute
        window's end), kept across batches: a timer started and cancelled around every batch
        would add two commands and two history events to each."""
        deadline = self._next_deadline_us()
        if deadline == self.timer_deadline_us and self.timer is not None:
            return
        if self.timer is not None:
            self.timer.cancel()
        self.timer, self.timer_deadline_us = None, deadline
        if deadline is not None:
            delay = max(deadline - self._now_us(), 1_000) / 1_000_000
            self.timer = asyncio.create_task(asyncio.sleep(delay))

    def _deadline_passed(self) -> bool:
        if self.timer is None or not self.timer.done():
            return False
        self.timer, self.timer_deadline_us = None, None
        return True

    async def _run_batch(self) -> None:
        batch, self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
        self.market.batch_no += 1
        # A local activity: the batch runs on this worker, next to the market's warm engine, and
        # its result lands in the same workflow task that accepted the updates and now answers
        # them (one workflow task per batch instead of two plus an activity task's dispatch).
        output = await workflow.execute_local_activity(
            APPLY_BATCH,
            BatchInput(
                market_id=self.market.config.market_id,
                batch_no=self.market.batch_no,
                now_us=self._now_us(),
                items=[item for item, _ in batch],
            ),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=BATCH_RETRY,
            result_type=BatchOutput,
        )
        for change in output.changes:
            if change.status == "resting":
                self.market.resting[change.order_id] = RestingOrder(
                    user_id=change.user_id, expires_at_us=change.expires_at_us
                )
            else:
                self.market.resting.pop(change.order_id, None)
        for (item, future), result in zip(batch, output.results, strict=True):
            if future is not None and not future.done():
                future.set_result(result)
            if item.kind == "place":
                self.placing.pop(item.order_id or "", None)

    def _should_roll_over(self) -> bool:
        info = workflow.info()
        if self.updates_this_run >= MAX_UPDATES_PER_RUN:
            return True
        limit = self.market.rollover_events
        if limit and info.get_current_history_length() >= limit:
            return True
        return info.is_continue_as_new_suggested()

    async def _roll_over(self) -> None:
        self.rolling_over = True
        while self.pending:
            await self._run_batch()
        await workflow.wait_condition(workflow.all_handlers_finished)
        self.market.runs += 1
        workflow.continue_as_new(self.market)

    # ------------------------------------------------------------ lifecycle

    def _now_us(self) -> int:
        return int(workflow.now().timestamp() * 1_000_000)

    def _next_deadline_us(self) -> int | None:
        config = self.market.config
        if self.market.status == "scheduled":
            return int(config.open_time.timestamp() * 1_000_000)
        if self.market.status == "resolving":
            return self.market.dispute_deadline_us
        if self.market.status not in BEFORE_CLOSE:
            return None
        deadline = int(config.close_time.timestamp() * 1_000_000)
        if self.market.status not in TRADING:
            # Orders expire only while the market trades (a paused market's expired orders
            # go at resume); waking for them earlier would spin on a past deadline.
            return deadline
        expiries = [o.expires_at_us for o in self.market.resting.values() if o.expires_at_us]
        return min([deadline, *expiries])

    def _enqueue_due_lifecycle(self) -> None:
        now = self._now_us()
        config = self.market.config
        if self.market.status == "scheduled" and now >= config.open_time.timestamp() * 1_000_000:
            self._set_status("open")
        if self.market.status in BEFORE_CLOSE and now >= config.close_time.timestamp() * 1_000_000:
            self._close()
            return
        if self.market.status in TRADING and any(
            o.expires_at_us is not None and o.expires_at_us <= now
            for o in self.market.resting.values()
        ):
            if not any(item.kind == "expire" for item, _ in self.pending):
                self.pending.append((BatchItem(kind="expire"), None))

    def _set_status(self, status: str) -> asyncio.Future[BatchItemResult]:
        self.market.status = status
        workflow.upsert_search_attributes([MARKET_STATUS.value_set(status)])
        future: asyncio.Future[BatchItemResult] = asyncio.get_running_loop().create_future()
        item = BatchItem(kind="status", status=status, close_time=self.market.config.close_time)
        self.pending.append((item, future))
        return future

    def _close(self) -> asyncio.Future[BatchItemResult]:
        self.market.status = "closed"
        workflow.upsert_search_attributes([MARKET_STATUS.value_set("closed")])
        future: asyncio.Future[BatchItemResult] = asyncio.get_running_loop().create_future()
        self.pending.append((BatchItem(kind="close"), future))
        return future

    # ------------------------------------------------------------ orders

    async def _submit(self, item: BatchItem) -> BatchItemResult:
        self.updates_this_run += 1
        future: asyncio.Future[BatchItemResult] = asyncio.get_running_loop().create_future()
        self.pending.append((item, future))
        return _raise_error(await future)

    def _enqueue_place(
        self, order_id: str, request: PlaceOrderRequest
    ) -> asyncio.Future[BatchItemResult]:
        future = self.placing.get(order_id)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self.placing[order_id] = future
            self.pending.append((BatchItem(kind="place", order_id=order_id, place=request), future))
        return future

    def _refuse_while_rolling_over(self) -> None:
        if self.rolling_over:
            raise ApplicationError("the market is rolling over; retry", type="RollingOver")

    @workflow.update
    async def place_order(self, request: PlaceOrderRequest) -> OrderView:
        self.updates_this_run += 1
        update = workflow.current_update_info()
        request_id = update.id if update is not None else workflow.uuid4().hex
        result = await self._enqueue_place(self._order_id(request_id), request)
        return _raise_error(result).orders[0]

    def _order_id(self, request_id: str) -> str:
        """A new order's id, derived from its request's id (a single order's update id). If a
        workflow task fails after its batch committed, the server delivers the same updates
        again, perhaps batched with others: the same ids let the batch recognise the orders it
        already placed and answer them from the database instead of placing them twice."""
        name = f"{self.market.config.market_id}:{request_id}"
        return uuid.uuid5(ORDER_ID_NAMESPACE, name).hex

    @workflow.update
    async def place_orders(self, request: PlaceOrdersRequest) -> PlaceOrdersResult:
        """Several orders in one update: each answered on its own, an engine rejection
        (insufficient funds, post-only would take...) as that order's error."""
        self.updates_this_run += 1
        futures = [
            self._enqueue_place(self._order_id(grouped.request_id), grouped.order)
            for grouped in request.orders
        ]
        return PlaceOrdersResult(results=[await future for future in futures])

    @place_orders.validator
    def _validate_place_orders(self, request: PlaceOrdersRequest) -> None:
        """All or nothing: one invalid order rejects the update (the API then sends each
        order alone, so each gets its own answer)."""
        if not 0 < len(request.orders) <= MAX_BATCH:
            raise _reject("invalid_request", f"between 1 and {MAX_BATCH} orders per update")
        for grouped in request.orders:
            self._validate_place_order(grouped.order)

    @place_order.validator
    def _validate_place_order(self, request: PlaceOrderRequest) -> None:
        self._refuse_while_rolling_over()
        if self.market.status not in TRADING:
            raise _reject("market_not_open", f"the market is {self.market.status}")
        try:
            check_order(request, self.market.config.tick, self._now_us())
        except OrderRuleError as exc:
            raise _reject("invalid_request", str(exc)) from exc

    @workflow.update
    async def cancel_order(self, request: CancelOrderRequest) -> OrderView:
        result = await self._submit(
            BatchItem(kind="cancel", order_id=request.order_id, user_id=request.user_id)
        )
        return result.orders[0]

    @cancel_order.validator
    def _validate_cancel_order(self, request: CancelOrderRequest) -> None:
        self._refuse_while_rolling_over()
        if self.market.status not in BEFORE_CLOSE:
            raise _reject("market_not_open", f"the market is {self.market.status}")
        resting = self.market.resting.get(request.order_id)
        if resting is None or (request.user_id is not None and resting.user_id != request.user_id):
            raise _reject("not_found", f"no resting order {request.order_id}")

    @workflow.update
    async def cancel_all(self, request: CancelAllRequest) -> CancelAllResult:
        result = await self._submit(BatchItem(kind="cancel_all", user_id=request.user_id))
        return CancelAllResult(cancelled=result.orders)

    @cancel_all.validator
    def _validate_cancel_all(self, request: CancelAllRequest) -> None:
        self._refuse_while_rolling_over()
        if self.market.status not in BEFORE_CLOSE:
            raise _reject("market_not_open", f"the market is {self.market.status}")

    # ------------------------------------------------------------ admin lifecycle

    @workflow.signal
    def halt(self, reason: str) -> None:
        """Pause without waiting for an answer (reconciliation, or an operator's CLI signal)."""
        if self.market.status == "open":
            workflow.logger.warning("market %s halted: %s", self.market.config.market_id, reason)
            self._set_status("paused")

    @workflow.update
    async def pause(self, request: LifecycleRequest) -> MarketStateView:
        await self._set_status("paused")
        return self.state_view()

    @pause.validator
    def _validate_pause(self, request: LifecycleRequest) -> None:
        self._refuse_while_rolling_over()
        if self.market.status != "open":
            raise _reject(
                "conflict", f"only an open market can be paused; it is {self.market.status}"
            )

    @workflow.update
    async def resume(self, request: LifecycleRequest) -> MarketStateView:
        await self._set_status("open")
        return self.state_view()

    @resume.validator
    def _validate_resume(self, request: LifecycleRequest) -> None:
        self._refuse_while_rolling_over()
        if self.market.status != "paused":
            raise _reject(
                "conflict", f"only a paused market can resume; it is {self.market.status}"
            )

    @workflow.update
    async def close(self, request: LifecycleRequest) -> MarketStateView:
        await self._close()
        return self.state_view()

    @close.validator
    def _validate_close(self, request: LifecycleRequest) -> None:
        self._refuse_while_rolling_over()
        if self.market.status not in BEFORE_CLOSE:
            raise _reject("conflict", f"the market is already {self.market.status}")

    @workflow.update
    async def set_close_time(self, request: LifecycleRequest) -> MarketStateView:
        assert request.close_time is not None
        self.market.config.close_time = request.close_time
        self.wake = True
        await self._set_status(self.market.status)
        return self.state_view()

    @set_close_time.validator
    def _validate_set_close_time(self, request: LifecycleRequest) -> None:
        self._refuse_while_rolling_over()
        if self.market.status not in BEFORE_CLOSE:
            raise _reject("conflict", f"the market is already {self.market.status}")
        if request.close_time is None or request.close_time <= workflow.now():
            raise _reject("invalid_request", "close_time must be in the future")
        if request.close_time <= self.market.config.open_time:
            raise _reject("invalid_request", "close_time must be after open_time")

    # ------------------------------------------------------------ resolution

    def _resolution_value(self, request: ResolveRequest) -> tuple[str, int]:
        try:
            return request.value(self.market.config.tick)
        except ResolutionInputError as exc:
            raise _reject("invalid_request", str(exc)) from exc

    def _refuse_final(self) -> None:
        status = self.market.status
        if status in FINAL:
            raise _reject("conflict", f"the market is already {status} ({self.market.outcome})")
        if status == "resolving":
            raise _reject(
                "conflict",
                f"the market is already resolving ({self.market.outcome}); the outcome becomes "
                "final when its dispute window ends",
            )

    @workflow.update
    async def resolve(self, request: ResolveRequest) -> ResolutionView:
        outcome, value = self._resolution_value(request)
        async with self.resolution_lock:
            self._refuse_final()  # again: another update may have won the race
            if self.market.status in BEFORE_CLOSE:
                await self._close()
            if self.market.status == "disputed" and value == self.market.settlement_value:
                await self._make_final()
            else:
                await self._propose(outcome, value)
        return self.resolution()

    @resolve.validator
    def _validate_resolve(self, request: ResolveRequest) -> None:
        self._refuse_while_rolling_over()
        self._refuse_final()
        self._resolution_value(request)

    @workflow.update
    async def confirm(self, request: ConfirmRequest) -> ResolutionView:
        async with self.resolution_lock:
            if self.market.status != "disputed":
                raise _reject("conflict", f"the market is {self.market.status}, not disputed")
            await self._make_final()
        return self.resolution()

    @confirm.validator
    def _validate_confirm(self, request: ConfirmRequest) -> None:
        self._refuse_while_rolling_over()
        if self.market.status != "disputed":
            raise _reject(
                "conflict", f"only a disputed outcome can be confirmed; it is {self.market.status}"
            )

    @workflow.update
    async def dispute(self, request: DisputeRequest) -> ResolutionView:
        async with self.resolution_lock:
            self._check_disputable()
            self.market.disputes += 1
            if self.market.status == "resolving":
                self._set_resolution_status("disputed")
                await self._record()
        return self.resolution()

    @dispute.validator
    def _validate_dispute(self, request: DisputeRequest) -> None:
        self._refuse_while_rolling_over()
        self._check_disputable()

    def _check_disputable(self) -> None:
        status = self.market.status
        if status == "disputed":
            return
        if status != "resolving":
            raise _reject("conflict", f"the market is {status}: there is no outcome to dispute")
        if self._now_us() >= (self.market.dispute_deadline_us or 0):
            raise _reject("conflict", "the dispute window has closed")

    async def _propose(self, outcome: str, value: int) -> None:
        window = self.market.config.dispute_window_seconds
        self.market.outcome = outcome
        self.market.settlement_value = value
        self.market.dispute_deadline_us = self._now_us() + window * 1_000_000
        self._set_resolution_status("resolving")
        await self._record()

    async def _make_final(self) -> None:
        self._set_resolution_status("resolved")
        await self._record()

    def _dispute_window_over(self) -> bool:
        deadline = self.market.dispute_deadline_us
        return (
            self.market.status == "resolving"
            and deadline is not None
            and self._now_us() >= deadline
        )

    async def _finalize_outcome(self) -> None:
        async with self.resolution_lock:
            if self._dispute_window_over():  # an amend may have restarted the window
                await self._make_final()

    async def _pay_out(self) -> None:
        assert self.market.outcome is not None and self.market.settlement_value is not None
        config = self.market.config
        await workflow.execute_child_workflow(
            PayoutWorkflow.run,
            PayoutState(
                market_id=config.market_id,
                outcome=self.market.outcome,
                settlement_value=self.market.settlement_value,
                trade_engine_queue=config.trade_engine_queue,
                holders_per_activity=config.payout_holders_per_activity,
                activities_per_run=config.payout_activities_per_run,
            ),
            id=payout_workflow_id(config.market_id),
            task_queue=workflow.info().task_queue,
        )
        async with self.resolution_lock:
            self._set_resolution_status("settled")
            await self._record()

    def _set_resolution_status(self, status: str) -> None:
        self.market.status = status
        self.wake = True  # the run loop's next deadline may have changed
        workflow.upsert_search_attributes([MARKET_STATUS.value_set(status)])

    async def _record(self) -> None:
        await workflow.execute_activity(
            RECORD_RESOLUTION,
            RecordResolution(
                market_id=self.market.config.market_id,
                status=self.market.status,
                outcome=self.market.outcome,
                settlement_value=self.market.settlement_value,
            ),
            task_queue=self.market.config.trade_engine_queue,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=BATCH_RETRY,
        )

    @workflow.query
    def resolution(self) -> ResolutionView:
        deadline = self.market.dispute_deadline_us
        return ResolutionView(
            market_id=self.market.config.market_id,
            status=self.market.status,
            outcome=self.market.outcome,
            settlement_value=self.market.settlement_value,
            dispute_deadline=None
            if deadline is None
            else datetime.fromtimestamp(deadline / 1_000_000, tz=UTC),
            disputes=self.market.disputes,
        )

    # ------------------------------------------------------------ queries

    @workflow.query
    def state(self) -> MarketStateView:
        return self.state_view()

    def state_view(self) -> MarketStateView:
        config = self.market.config
        return MarketStateView(
            market_id=config.market_id,
            status=self.market.status,
            open_time=config.open_time,
            close_time=config.close_time,
            batch_no=self.market.batch_no,
            resting_orders=len(self.market.resting),
            pending_requests=len(self.pending),
            rolling_over=self.rolling_over,
            run=self.market.runs,
        )
