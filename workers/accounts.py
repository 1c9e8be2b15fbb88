"""User Management's worker: ledger, wallet and payment activities (task queue `accounts`)."""

from __future__ import annotations

import asyncio

from activities.health import make_ping
from activities.payments import GatewayCallbacks, PaymentActivities
from activities.reconciliation import alert_admins_activity, check_books_activity
from core.names import ACCOUNTS
from services.accounts.gateway import SandboxGateway
from workers.base import WorkerComponents, serve


def components() -> WorkerComponents:
    payments = PaymentActivities(SandboxGateway(deliver=GatewayCallbacks()))
    return WorkerComponents(
        activities=[
            make_ping(ACCOUNTS),
            *payments.all(),
            check_books_activity,
            alert_admins_activity,
        ]
    )


if __name__ == "__main__":
    asyncio.run(serve(ACCOUNTS, components()))
