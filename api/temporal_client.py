"""A lazily connected Temporal client shared by the routes of one API process."""

from __future__ import annotations

import asyncio

from temporalio.client import Client

from core.config import get_settings
from core.temporal import connect_temporal


class LazyTemporalClient:
    """Connects on first use, so the API starts (and /readyz answers 503) while Temporal is down."""

    def __init__(self, address: str | None = None) -> None:
        self._address = address
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    async def __call__(self) -> Client:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    settings = get_settings()
                    if self._address:
                        settings = settings.model_copy(update={"temporal_address": self._address})
                    self._client = await connect_temporal(settings)
        return self._client
