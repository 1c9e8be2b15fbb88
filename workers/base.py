"""Running one service's worker: the shared plumbing behind every entry point."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from core.config import get_settings
from core.db import dispose_engine
from core.heap import freeze_startup_heap
from core.logging import configure_logging
from core.names import task_queue
from core.temporal import connect_temporal

log = logging.getLogger(__name__)


@dataclass
class WorkerComponents:
    workflows: Sequence[type] = field(default_factory=list)
    activities: Sequence[Callable[..., Any]] = field(default_factory=list)
    max_concurrent_activities: int = 100
    # Runs once the client is connected, before polling (e.g. to create schedules).
    on_start: Callable[[Client], Awaitable[None]] | None = None


def build_worker(client: Client, service: str, components: WorkerComponents) -> Worker:
    return Worker(
        client,
        task_queue=task_queue(service),
        workflows=list(components.workflows),
        activities=list(components.activities),
        max_concurrent_activities=components.max_concurrent_activities,
    )


async def serve(service: str, components: WorkerComponents) -> None:
    """Poll the service's task queue until SIGINT/SIGTERM, then drain and stop."""
    settings = get_settings()
    configure_logging(settings.log_level, f"worker:{service}")
    client = await connect_temporal()
    if components.on_start is not None:
        await components.on_start(client)
    worker = build_worker(client, service, components)
    freeze_startup_heap()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker for %s polling task queue %s", service, task_queue(service))
    async with worker:
        await stop.wait()
        log.info("worker for %s stopping", service)
    await dispose_engine()
