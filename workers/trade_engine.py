"""The Trade Engine's worker: matching and settlement activities (task queue `trade-engine`)."""

from __future__ import annotations

import asyncio

from activities.health import make_ping
from activities.resolution import ResolutionActivities
from activities.trading import TradingActivities
from core.names import TRADE_ENGINE
from workers.base import WorkerComponents, serve


def components() -> WorkerComponents:
    trading = TradingActivities()
    resolution = ResolutionActivities()
    return WorkerComponents(
        activities=[make_ping(TRADE_ENGINE), trading.apply_batch, *resolution.all()]
    )


if __name__ == "__main__":
    asyncio.run(serve(TRADE_ENGINE, components()))
