"""Deposits and withdrawals: the messages their workflows, activities and gateway exchange.

Pure pydantic (no SQLAlchemy), so workflow modules can import it through the sandbox.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel


class PaymentKind(StrEnum):
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"


class PaymentStatus(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"


class GatewayOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class PaymentWorkflowInput(BaseModel):
    payment_id: int
    user_id: int
    amount: int  # micro-dollars
    confirmation_timeout_seconds: float
    accounts_task_queue: str  # where the ledger and gateway activities run


class PaymentRef(BaseModel):
    payment_id: int


class PaymentFailure(BaseModel):
    payment_id: int
    reason: str


class GatewayRequest(BaseModel):
    """What we ask the gateway: move `amount` for our payment `payment_id` (its idempotency key)."""

    kind: PaymentKind
    payment_id: int
    user_id: int
    amount: int


class GatewayReceipt(BaseModel):
    reference: str  # the gateway's id for the payment


class GatewayEvent(BaseModel):
    """The gateway's asynchronous answer, delivered by its callback."""

    kind: PaymentKind
    payment_id: int
    reference: str
    outcome: GatewayOutcome
    reason: str | None = None


class PaymentResult(BaseModel):
    payment_id: int
    status: PaymentStatus
    failure_reason: str | None = None
