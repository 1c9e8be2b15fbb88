"""Deposits and withdrawals: sagas against the payment gateway (ids deposit-<id>, withdrawal-<id>).

A deposit asks the gateway to charge, waits for its callback (a signal) and credits the wallet
only on confirmation. A withdrawal holds the funds (available -> reserved), asks for a payout,
waits, then settles (reserved -> external) or, on a decline or timeout, runs its compensation:
release the hold. A confirmation that never comes is cancelled at the gateway before failing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from models.payments import (
        GatewayEvent,
        GatewayOutcome,
        GatewayReceipt,
        GatewayRequest,
        PaymentFailure,
        PaymentKind,
        PaymentRef,
        PaymentResult,
        PaymentStatus,
        PaymentWorkflowInput,
    )

_GATEWAY_RETRY = RetryPolicy(maximum_attempts=5, initial_interval=timedelta(milliseconds=200))
_LEDGER_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200))


class _PaymentFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _PaymentWorkflow:
    """The shared plumbing: the callback signal, the status query and the steps."""

    kind: PaymentKind

    def __init__(self) -> None:
        self._event: GatewayEvent | None = None
        self._status = PaymentStatus.PENDING
        self._accounts_queue = ""

    @workflow.signal(name="gateway_event")
    def gateway_event(self, event: GatewayEvent) -> None:
        if self._event is None:  # the first answer counts; gateways repeat callbacks
            self._event = event

    @workflow.query(name="status")
    def status(self) -> PaymentStatus:
        return self._status

    async def _activity(
        self, name: str, arg: object, result_type: type | None, retry: RetryPolicy
    ) -> object:
        return await workflow.execute_activity(
            name,
            arg,
            task_queue=self._accounts_queue,
            start_to_close_timeout=timedelta(seconds=15),
            retry_policy=retry,
            result_type=result_type,
        )

    async def _ask_gateway(self, payment: PaymentWorkflowInput) -> GatewayReceipt:
        request = GatewayRequest(
            kind=self.kind,
            payment_id=payment.payment_id,
            user_id=payment.user_id,
            amount=payment.amount,
        )
        try:
            receipt = await self._activity(
                "accounts.request_gateway_payment", request, GatewayReceipt, _GATEWAY_RETRY
            )
        except ActivityError as exc:
            raise _PaymentFailed("gateway_unavailable") from exc
        assert isinstance(receipt, GatewayReceipt)
        return receipt

    async def _await_confirmation(
        self, payment: PaymentWorkflowInput, receipt: GatewayReceipt
    ) -> GatewayEvent:
        timeout = timedelta(seconds=payment.confirmation_timeout_seconds)
        while True:
            try:
                await workflow.wait_condition(lambda: self._event is not None, timeout=timeout)
            except TimeoutError:
                cancelled = await self._activity(
                    "accounts.cancel_gateway_payment", receipt, bool, _GATEWAY_RETRY
                )
                if cancelled:
                    raise _PaymentFailed("gateway_timeout") from None
                continue  # it completed at the gateway meanwhile: its callback is on the way
            event = self._event
            assert event is not None
            if event.outcome is GatewayOutcome.FAILED:
                raise _PaymentFailed(event.reason or "declined")
            return event

    async def _complete(self, payment: PaymentWorkflowInput) -> PaymentResult:
        result = await self._activity(
            "accounts.complete_payment",
            PaymentRef(payment_id=payment.payment_id),
            PaymentResult,
            _LEDGER_RETRY,
        )
        assert isinstance(result, PaymentResult)
        self._status = result.status
        return result

    async def _fail(self, payment: PaymentWorkflowInput, reason: str) -> PaymentResult:
        result = await self._activity(
            "accounts.fail_payment",
            PaymentFailure(payment_id=payment.payment_id, reason=reason),
            PaymentResult,
            _LEDGER_RETRY,
        )
        assert isinstance(result, PaymentResult)
        self._status = result.status
        return result


@workflow.defn(name="Deposit")
class DepositWorkflow(_PaymentWorkflow):
    kind = PaymentKind.DEPOSIT

    @workflow.run
    async def run(self, payment: PaymentWorkflowInput) -> PaymentResult:
        self._accounts_queue = payment.accounts_task_queue
        try:
            receipt = await self._ask_gateway(payment)
            await self._await_confirmation(payment, receipt)
        except _PaymentFailed as failed:
            return await self._fail(payment, failed.reason)  # nothing was credited
        return await self._complete(payment)


@workflow.defn(name="Withdrawal")
class WithdrawalWorkflow(_PaymentWorkflow):
    kind = PaymentKind.WITHDRAWAL

    @workflow.run
    async def run(self, payment: PaymentWorkflowInput) -> PaymentResult:
        self._accounts_queue = payment.accounts_task_queue
        compensations: list[Callable[[str], Awaitable[PaymentResult]]] = []
        try:
            # The compensation is registered before its step: the hold is released on failure.
            compensations.append(lambda reason: self._fail(payment, reason))
            await self._activity(
                "accounts.hold_withdrawal",
                PaymentRef(payment_id=payment.payment_id),
                None,
                _LEDGER_RETRY,
            )
            receipt = await self._ask_gateway(payment)
            await self._await_confirmation(payment, receipt)
        except _PaymentFailed as failed:
            result: PaymentResult | None = None
            for compensate in reversed(compensations):
                result = await compensate(failed.reason)
            assert result is not None
            return result
        return await self._complete(payment)
