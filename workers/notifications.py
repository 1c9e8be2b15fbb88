"""The Notification Service's worker: delivery activities (task queue `notifications`)."""

from __future__ import annotations

import asyncio

from activities.health import make_ping
from activities.notifications import NotificationActivities
from core.names import NOTIFICATIONS
from workers.base import WorkerComponents, serve


def components() -> WorkerComponents:
    notifications = NotificationActivities()
    return WorkerComponents(activities=[make_ping(NOTIFICATIONS), *notifications.all()])


if __name__ == "__main__":
    asyncio.run(serve(NOTIFICATIONS, components()))
