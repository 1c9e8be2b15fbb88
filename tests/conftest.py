"""Session fixtures: one embedded Postgres and one Temporal dev server for the whole run."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvloop
from temporalio.client import Client

from tests.stack import TestStack


# The Temporal SDK can abort at interpreter exit after every test passed (sdk-python #300), so
# the exit status would lie. Leave with pytest's own status once the summary is printed.
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config._oddsmith_exitstatus = int(exitstatus)  # type: ignore[attr-defined]


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    status = getattr(config, "_oddsmith_exitstatus", None)
    if status is not None and os.environ.get("ODDSMITH_HARD_EXIT", "1") == "1":
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, Any]:
    """Tests run on uvloop, the event loop of the API (uvicorn picks it) and of the workers:
    the two loops differ in details (uvloop's zero-delay `call_later` returns a handle
    without `when()`)."""
    return {"uvloop": uvloop.new_event_loop}


@pytest.fixture(scope="session")
def stack() -> Iterator[TestStack]:
    stack = TestStack.start()
    stack.export_environment()
    from core.config import get_settings

    get_settings.cache_clear()
    from core.migrate import upgrade_to_head

    upgrade_to_head(get_settings().async_database_url)
    yield stack
    stack.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def temporal_client(stack: TestStack) -> Client:
    from core.temporal import connect_temporal

    return await connect_temporal()


def _dump_tasks_on_sigusr1() -> None:
    """`kill -USR1 <pytest pid>` appends every asyncio task's stack (the in-process workers'
    activities included) to /tmp/task-dump-<pid>.txt: how to see what a hung test waits on."""
    import asyncio
    import signal
    import tempfile

    def dump() -> None:
        path = os.path.join(tempfile.gettempdir(), f"task-dump-{os.getpid()}.txt")
        with open(path, "a") as out:
            for task in asyncio.all_tasks():
                print("----", task, file=out)
                task.print_stack(limit=40, file=out)

    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, dump)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def workers(temporal_client: Client) -> AsyncIterator[None]:
    """Every service's worker, in this process, on the test run's task queues."""
    from core.names import ORCHESTRATOR, task_queue
    from workers.base import build_worker
    from workers.registry import COMPONENTS
    from workers.schedules import ensure_notification_relay

    _dump_tasks_on_sigusr1()
    async with AsyncExitStack() as exits:
        for service, components in COMPONENTS.items():
            await exits.enter_async_context(build_worker(temporal_client, service, components()))
        # The relay delivers trade batches' notifications (the reconciliation Schedule is left
        # out: tests that corrupt books on purpose would race it).
        await ensure_notification_relay(temporal_client, task_queue(ORCHESTRATOR))
        yield
    from core.db import dispose_engine

    await dispose_engine()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def api(workers: None) -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP API in this process, with its lifespan, over an in-memory transport."""
    from api.app import create_app

    app = create_app()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://oddsmith.test") as c:
            yield c
