"""The Trade Engine's worker (task queue `trade-engine`): matching and settlement activities, and
the market workflows whose batches run here as local activities, next to the warm engines."""

from __future__ import annotations

import asyncio

from activities.health import make_ping
from activities.resolution import ResolutionActivities
from activities.trading import TradingActivities
from core.names import TRADE_ENGINE
from workers.base import WorkerComponents, serve
from workflows.market import MarketWorkflow
from workflows.payout import PayoutWorkflow


def components() -> WorkerComponents:
    trading = TradingActivities()
    resolution = ResolutionActivities()
    return WorkerComponents(
        # A market's payout runs as its child, on the same queue.
        workflows=[MarketWorkflow, PayoutWorkflow],
        activities=[make_ping(TRADE_ENGINE), trading.apply_batch, *resolution.all()],
    )


if __name__ == "__main__":
    asyncio.run(serve(TRADE_ENGINE, components()))
