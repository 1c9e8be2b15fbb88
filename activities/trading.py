"""Trade-engine activities: thin adapters over services/trading."""

from __future__ import annotations

import logging

from temporalio import activity
from temporalio.exceptions import ApplicationError

from models.trading import BatchInput, BatchOutput
from services.trading.batches import apply_batch
from services.trading.engine_state import EngineCache

log = logging.getLogger(__name__)


class TradingActivities:
    """Owns the worker's warm engines; every method is idempotent by its batch number."""

    def __init__(self) -> None:
        self.engines = EngineCache()

    @activity.defn(name="trading.apply_batch")
    async def apply_batch(self, batch: BatchInput) -> BatchOutput:
        try:
            output = await apply_batch(batch, self.engines)
        except Exception as exc:
            # Database errors carry every parameter of the statement: past Temporal's size
            # limit the failure would read only "Failure exceeds size limit". Keep it short
            # and log the whole thing here. Still retryable: a batch is never dropped.
            log.exception("market %s batch %s failed", batch.market_id, batch.batch_no)
            raise ApplicationError(f"{type(exc).__name__}: {str(exc)[:1500]}") from None
        # The batch's notifications were committed with it, marked for the notification relay.
        return output
