"""Two real API processes, as two replicas behind a load balancer would be."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio

from tests.streaming.helpers import ApiServer


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def servers(api: httpx.AsyncClient) -> AsyncIterator[tuple[ApiServer, ApiServer]]:
    # The second keeps only a short queue per client, so a stalled client overflows quickly.
    first, second = ApiServer(), ApiServer(STREAM_CLIENT_QUEUE_SIZE="20")
    try:
        await first.start()
        await second.start()
        yield first, second
    finally:
        first.stop()
        second.stop()
