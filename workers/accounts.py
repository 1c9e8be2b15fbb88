"""User Management's worker: ledger, wallet and payment activities (task queue `accounts`)."""

from __future__ import annotations

import asyncio

from activities.health import make_ping
from core.names import ACCOUNTS
from workers.base import WorkerComponents, serve


def components() -> WorkerComponents:
    return WorkerComponents(activities=[make_ping(ACCOUNTS)])


if __name__ == "__main__":
    asyncio.run(serve(ACCOUNTS, components()))
