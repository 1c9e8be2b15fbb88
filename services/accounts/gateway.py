"""The payment gateway: the interface deposits and withdrawals talk to, and a sandbox.

A gateway accepts a request at once (a receipt with its reference) and answers later through a
callback (a GatewayEvent), as card processors and payout rails do. Requests are idempotent by
our payment id, so a retried activity never charges or pays twice.

The SandboxGateway behaves like that with no network: it confirms after a configurable delay,
declines amounts whose cents are PAYMENTS_SANDBOX_DECLINE_CENTS (".13"), never answers amounts
whose cents are PAYMENTS_SANDBOX_SILENT_CENTS (".14", so the workflow's timeout fires), and
delivers its callback through the `deliver` function it is given (an HTTP POST to our callback
endpoint, or a direct signal of the payment's workflow).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from core.config import get_settings
from models.payments import GatewayEvent, GatewayOutcome, GatewayReceipt, GatewayRequest

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Sandbox-Signature"


class PaymentGateway(Protocol):
    async def request_payment(self, request: GatewayRequest) -> GatewayReceipt:
        """Ask for a deposit (charge) or withdrawal (payout); the outcome comes by callback."""
        ...

    async def cancel_payment(self, reference: str) -> bool:
        """Cancel a payment that has not completed; False if it completed already."""
        ...


def _callback_key() -> bytes:
    # Derived from the JWT secret, which production refuses to leave at its default.
    return hashlib.sha256(b"sandbox-callback:" + get_settings().jwt_secret.encode()).digest()


def sign_callback(body: bytes) -> str:
    return hmac.new(_callback_key(), body, hashlib.sha256).hexdigest()


def verify_callback(body: bytes, signature: str | None) -> bool:
    return signature is not None and hmac.compare_digest(sign_callback(body), signature)


Deliver = Callable[[GatewayEvent], Awaitable[None]]


class SandboxGateway:
    def __init__(self, deliver: Deliver) -> None:
        self._deliver = deliver
        self._state: dict[str, str] = {}  # reference -> pending | cancelled | delivered
        self._tasks: set[asyncio.Task[None]] = set()

    async def request_payment(self, request: GatewayRequest) -> GatewayReceipt:
        reference = f"sbx_{request.kind.value}_{request.payment_id}"
        if reference in self._state:
            return GatewayReceipt(reference=reference)
        settings = get_settings()
        cents = (request.amount // 10_000) % 100
        self._state[reference] = "pending"
        if cents == settings.payments_sandbox_silent_cents:
            log.info("sandbox: %s will never be confirmed", reference)
            return GatewayReceipt(reference=reference)
        if cents == settings.payments_sandbox_decline_cents:
            event = GatewayEvent(
                kind=request.kind,
                payment_id=request.payment_id,
                reference=reference,
                outcome=GatewayOutcome.FAILED,
                reason="declined",
            )
        else:
            event = GatewayEvent(
                kind=request.kind,
                payment_id=request.payment_id,
                reference=reference,
                outcome=GatewayOutcome.SUCCEEDED,
            )
        task = asyncio.create_task(
            self._confirm_later(event, settings.payments_sandbox_delay_seconds)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return GatewayReceipt(reference=reference)

    async def cancel_payment(self, reference: str) -> bool:
        if self._state.get(reference) == "delivered":
            return False
        self._state[reference] = "cancelled"
        return True

    async def _confirm_later(self, event: GatewayEvent, delay: float) -> None:
        await asyncio.sleep(delay)
        # Like a real gateway, retry the callback until it is acknowledged (a few times here).
        for attempt in range(5):
            if self._state.get(event.reference) != "pending":
                return
            try:
                await self._deliver(event)
                self._state[event.reference] = "delivered"
                return
            except Exception:
                log.warning("sandbox: callback for %s failed", event.reference, exc_info=True)
                await asyncio.sleep(0.2 * 2**attempt)
