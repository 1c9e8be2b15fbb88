"""The Notification Service's worker: delivery activities (task queue `notifications`)."""

from __future__ import annotations

import asyncio

from activities.health import make_ping
from core.names import NOTIFICATIONS
from workers.base import WorkerComponents, serve


def components() -> WorkerComponents:
    return WorkerComponents(activities=[make_ping(NOTIFICATIONS)])


if __name__ == "__main__":
    asyncio.run(serve(NOTIFICATIONS, components()))
