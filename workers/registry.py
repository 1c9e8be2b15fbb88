"""Which components each task queue's worker runs."""

from __future__ import annotations

from collections.abc import Callable

from core.names import ACCOUNTS, NOTIFICATIONS, ORCHESTRATOR, TRADE_ENGINE
from workers import accounts, notifications, orchestrator, trade_engine
from workers.base import WorkerComponents

COMPONENTS: dict[str, Callable[[], WorkerComponents]] = {
    ORCHESTRATOR: orchestrator.components,
    TRADE_ENGINE: trade_engine.components,
    ACCOUNTS: accounts.components,
    NOTIFICATIONS: notifications.components,
}
