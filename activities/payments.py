"""Deposit and withdrawal activities (task queue `accounts`): the gateway and the ledger.

Thin adapters over services.accounts.payments and the gateway. Business failures (a payment
already settled the other way) are non-retryable ApplicationErrors; anything else retries.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import httpx
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from activities.notifications import start_delivery
from core.config import get_settings
from core.db import transaction
from core.names import deposit_workflow_id, withdrawal_workflow_id
from core.temporal import connect_temporal
from models.payments import (
    GatewayEvent,
    GatewayReceipt,
    GatewayRequest,
    PaymentFailure,
    PaymentKind,
    PaymentRef,
    PaymentResult,
    PaymentStatus,
)
from services.accounts import payments
from services.accounts.gateway import SIGNATURE_HEADER, PaymentGateway, sign_callback
from services.notifications.outbox import record_payment_receipt

log = logging.getLogger(__name__)

GATEWAY_EVENT_SIGNAL = "gateway_event"


def payment_workflow_id(kind: PaymentKind, payment_id: int) -> str:
    if kind is PaymentKind.DEPOSIT:
        return deposit_workflow_id(str(payment_id))
    return withdrawal_workflow_id(str(payment_id))


async def signal_gateway_event(client: Client, event: GatewayEvent) -> None:
    """Hand a gateway callback to the payment's workflow."""
    handle = client.get_workflow_handle(payment_workflow_id(event.kind, event.payment_id))
    await handle.signal(GATEWAY_EVENT_SIGNAL, event)


async def _deliver_receipt(source: str | None) -> None:
    """Notifications: deliver a payment's receipt without waiting for it."""
    if source is not None:
        await start_delivery(activity.client(), source)


class GatewayCallbacks:
    """How the sandbox delivers its callbacks from a worker: an HTTP POST to the API's callback
    endpoint when PAYMENTS_SANDBOX_CALLBACK_URL is set (the real path), else a direct signal."""

    def __init__(self) -> None:
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    async def __call__(self, event: GatewayEvent) -> None:
        url = get_settings().payments_sandbox_callback_url
        if url:
            body = event.model_dump_json().encode()
            async with httpx.AsyncClient(timeout=10) as http:
                answer = await http.post(
                    url,
                    content=body,
                    headers={
                        "Content-Type": "application/json",
                        SIGNATURE_HEADER: sign_callback(body),
                    },
                )
                answer.raise_for_status()
            return
        async with self._lock:
            if self._client is None:
                self._client = await connect_temporal()
        await signal_gateway_event(self._client, event)


def _state_error(exc: payments.PaymentStateError) -> ApplicationError:
    return ApplicationError(str(exc), type="PaymentStateError", non_retryable=True)


def _result(payment: payments.Payment) -> PaymentResult:
    return PaymentResult(
        payment_id=payment.id,
        status=PaymentStatus(payment.status),
        failure_reason=payment.failure_reason,
    )


class PaymentActivities:
    def __init__(self, gateway: PaymentGateway) -> None:
        self._gateway = gateway

    @activity.defn(name="accounts.request_gateway_payment")
    async def request_gateway_payment(self, request: GatewayRequest) -> GatewayReceipt:
        receipt = await self._gateway.request_payment(request)
        async with transaction() as conn:
            await payments.record_gateway_reference(conn, request.payment_id, receipt.reference)
        return receipt

    @activity.defn(name="accounts.cancel_gateway_payment")
    async def cancel_gateway_payment(self, receipt: GatewayReceipt) -> bool:
        return await self._gateway.cancel_payment(receipt.reference)

    @activity.defn(name="accounts.hold_withdrawal")
    async def hold_withdrawal(self, ref: PaymentRef) -> None:
        # The API placed the hold with the withdrawal's record; this re-asserts it (a no-op by
        # its idempotency key) so the saga stands on its own.
        async with transaction() as conn:
            payment = await payments.get_payment(conn, ref.payment_id)
            if payment is None:
                raise ApplicationError("no such payment", type="NotFound", non_retryable=True)
            await payments.hold_withdrawal(conn, payment)

    @activity.defn(name="accounts.complete_payment")
    async def complete_payment(self, ref: PaymentRef) -> PaymentResult:
        try:
            async with transaction() as conn:
                payment = await payments.complete_payment(conn, ref.payment_id)
                receipt = await record_payment_receipt(conn, payment)  # notifications
        except payments.PaymentStateError as exc:
            raise _state_error(exc) from exc
        await _deliver_receipt(receipt)
        return _result(payment)

    @activity.defn(name="accounts.fail_payment")
    async def fail_payment(self, failure: PaymentFailure) -> PaymentResult:
        try:
            async with transaction() as conn:
                payment = await payments.fail_payment(conn, failure.payment_id, failure.reason)
                receipt = await record_payment_receipt(conn, payment)  # notifications
        except payments.PaymentStateError as exc:
            raise _state_error(exc) from exc
        await _deliver_receipt(receipt)
        return _result(payment)

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.request_gateway_payment,
            self.cancel_gateway_payment,
            self.hold_withdrawal,
            self.complete_payment,
            self.fail_payment,
        ]
