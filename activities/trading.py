"""Trade-engine activities: thin adapters over services/trading."""

from __future__ import annotations

from temporalio import activity

from models.trading import BatchInput, BatchOutput
from services.trading.batches import apply_batch
from services.trading.engine_state import EngineCache


class TradingActivities:
    """Owns the worker's warm engines; every method is idempotent by its batch number."""

    def __init__(self) -> None:
        self.engines = EngineCache()

    @activity.defn(name="trading.apply_batch")
    async def apply_batch(self, batch: BatchInput) -> BatchOutput:
        return await apply_batch(batch, self.engines)
