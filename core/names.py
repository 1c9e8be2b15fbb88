"""Task-queue names and workflow-id formats: the one place they are spelled."""

from __future__ import annotations

from core.config import get_settings

ORCHESTRATOR = "orchestrator"
TRADE_ENGINE = "trade-engine"
ACCOUNTS = "accounts"
NOTIFICATIONS = "notifications"

SERVICE_QUEUES = (ORCHESTRATOR, TRADE_ENGINE, ACCOUNTS, NOTIFICATIONS)


def task_queue(service: str) -> str:
    """The task queue a service's worker polls (prefixed in tests to isolate them)."""
    if service not in SERVICE_QUEUES:
        raise ValueError(f"unknown service {service!r}; expected one of {SERVICE_QUEUES}")
    return get_settings().task_queue_prefix + service


def market_workflow_id(market_id: str) -> str:
    return f"market-{market_id}"


def payout_workflow_id(market_id: str) -> str:
    return f"payout-{market_id}"


def deposit_workflow_id(deposit_id: str) -> str:
    return f"deposit-{deposit_id}"


def withdrawal_workflow_id(withdrawal_id: str) -> str:
    return f"withdrawal-{withdrawal_id}"


def system_check_workflow_id(nonce: str) -> str:
    return f"system-check-{nonce}"


def notification_delivery_workflow_id(source: str) -> str:
    """`notify-<source>`, e.g. `notify-batch:12:40` for market 12's batch 40."""
    return f"notify-{source}"


def notification_relay_workflow_id() -> str:
    """One relay per deployment (per queue prefix, so test sessions keep their own)."""
    return f"notification-relay-{task_queue(NOTIFICATIONS)}"


def alert_timer_workflow_id(alert_id: int | str) -> str:
    return f"alert-{alert_id}"
