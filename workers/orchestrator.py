"""The Orchestrator's worker: every workflow of the platform (task queue `orchestrator`)."""

from __future__ import annotations

import asyncio

from activities.health import make_ping
from core.names import ORCHESTRATOR
from workers.base import WorkerComponents, serve
from workflows.market import MarketWorkflow
from workflows.payments import DepositWorkflow, WithdrawalWorkflow
from workflows.payout import PayoutWorkflow
from workflows.system_check import SystemCheckWorkflow


def components() -> WorkerComponents:
    return WorkerComponents(
        workflows=[
            SystemCheckWorkflow,
            MarketWorkflow,
            PayoutWorkflow,
            DepositWorkflow,
            WithdrawalWorkflow,
        ],
        activities=[make_ping(ORCHESTRATOR)],
    )


if __name__ == "__main__":
    asyncio.run(serve(ORCHESTRATOR, components()))
