"""Orders through the HTTP API vs. a no-op Temporal update on the same server (the ceiling).

Starts its own stack the way `oddsmith dev` does (embedded Postgres, Temporal dev server, one
worker process per task queue, the API), then with a fixed number of concurrent clients:
  1. a no-op Update on one workflow (the ceiling for one market) and on 8 workflows,
  2. orders through POST /v1/markets/{id}/orders on 1 market and on 8 markets.
Prints orders/s and p50/p99 latency for each and the ratios. Not a test: nothing is asserted.

    .venv/bin/python -m bench.trading.bench_orders [--clients 32] [--requests 600]
        [--markets 1 8] [--rounds 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import httpx
from temporalio.worker import Worker

from bench.trading.cpu import cpu_seconds_by_role, per_request_ms
from bench.trading.noop_workflow import NoopWorkflow
from bench.trading.raw_http import RawHttpConnection
from core.embedded.temporal_server import MAX_IN_FLIGHT_UPDATES, MAX_UPDATES_PER_RUN

DOLLARS = 1_000_000
CEILING_REQUESTS = MAX_UPDATES_PER_RUN - 10


def _configure_environment(root: Path) -> None:
    from core.embedded import free_port

    os.environ.update(
        ODDSMITH_ENV="development",
        ODDSMITH_DATA_DIR=str(root),
        DATABASE_URL=f"postgresql://postgres@127.0.0.1:{free_port()}/oddsmith",
        TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}",
        TEMPORAL_UI_PORT=str(free_port()),
        API_PORT=str(free_port()),
        TASK_QUEUE_PREFIX="bench-",
        LOG_LEVEL="WARNING",
        RATE_LIMIT_READS_PER_SECOND="100000",
        RATE_LIMIT_WRITES_PER_SECOND="100000",
        RATE_LIMIT_READS_BURST="100000",
        RATE_LIMIT_WRITES_BURST="100000",
    )


async def _measure(
    clients: int, requests: int, call: Callable[[int], Awaitable[bool]]
) -> tuple[float, float, float, int]:
    """(throughput/s, p50 ms, p99 ms, failures) for `requests` calls over `clients` workers."""
    latencies: list[float] = []
    failures = 0
    counter = iter(range(requests))

    async def client() -> None:
        nonlocal failures
        for i in counter:
            started = time.perf_counter()
            ok = await call(i)
            latencies.append(time.perf_counter() - started)
            failures += 0 if ok else 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100)
    return requests / elapsed, q[49] * 1000, q[98] * 1000, failures


async def _ceiling(clients: int, requests: int, workflows: int) -> tuple[float, float, float, int]:
    from core.temporal import connect_temporal

    client = await connect_temporal()
    queue = f"bench-noop-{uuid.uuid4().hex[:6]}"
    async with Worker(client, task_queue=queue, workflows=[NoopWorkflow]):
        handles = [
            await client.start_workflow(
                NoopWorkflow.run, id=f"bench-noop-{uuid.uuid4().hex[:8]}", task_queue=queue
            )
            for _ in range(workflows)
        ]

        async def call(i: int) -> bool:
            return await handles[i % workflows].execute_update(NoopWorkflow.noop, i) == i

        result = await _measure(clients, requests, call)
        for h in handles:
            await h.signal(NoopWorkflow.finish)
    return result


async def _setup_traders(api: httpx.AsyncClient, users: int) -> list[dict[str, str]]:
    from core.db import transaction
    from models.ledger import AccountKind
    from services.accounts.ledger import (
        NewTransaction,
        platform_account,
        post_transaction,
        user_accounts,
    )

    traders = []
    for _ in range(users):
        email = f"bench-{uuid.uuid4().hex[:10]}@example.com"
        created = await api.post(
            "/v1/auth/register", json={"email": email, "password": "bench-password-1"}
        )
        user_id = int(created.json()["id"])
        login = await api.post(
            "/v1/auth/login", json={"email": email, "password": "bench-password-1"}
        )
        async with transaction() as conn:
            external = await platform_account(conn, AccountKind.EXTERNAL)
            accounts = (await user_accounts(conn, [user_id]))[user_id]
            await post_transaction(
                conn,
                NewTransaction(
                    "deposit",
                    f"bench:{user_id}",
                    [(external, -(10**6) * DOLLARS), (accounts.available, 10**6 * DOLLARS)],
                ),
            )
        traders.append({"Authorization": f"Bearer {login.json()['access_token']}"})
    return traders


async def _create_markets(api: httpx.AsyncClient, admin: dict[str, str], n: int) -> list[str]:
    close = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    ids = []
    for i in range(n):
        created = await api.post(
            "/v1/markets", json={"title": f"Bench market {i}", "close_time": close}, headers=admin
        )
        ids.append(created.json()["id"])
    return ids


async def _orders(
    base: tuple[str, int],
    traders: list[dict[str, str]],
    markets: list[str],
    clients: int,
    requests: int,
) -> tuple[float, float, float, int]:
    rng = random.Random(1)
    idle: asyncio.Queue[RawHttpConnection] = asyncio.Queue()
    for _ in range(clients):
        idle.put_nowait(RawHttpConnection(*base))

    async def call(i: int) -> bool:
        body = {
            "action": rng.choice(["buy", "sell"]),
            "side": rng.choice(["yes", "no"]),
            "count": rng.randint(1, 10),
            "price": f"0.{rng.randint(35, 65):02d}",
        }
        connection = await idle.get()
        try:
            status = await connection.post_json(
                f"/v1/markets/{markets[i % len(markets)]}/orders", body, traders[i % len(traders)]
            )
        finally:
            idle.put_nowait(connection)
        return status in (200, 201, 409)

    try:
        return await _measure(clients, requests, call)
    finally:
        while not idle.empty():
            idle.get_nowait().close()


async def _trade_batches() -> int:
    from sqlalchemy import text

    from core.db import connection

    async with connection() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM trade_batches"))).scalar_one())


async def _deliveries_done(within: float = 120.0) -> None:
    from sqlalchemy import text

    from core.db import connection

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        async with connection() as conn:
            waiting = await conn.execute(text("SELECT count(*) FROM notifications WHERE relay"))
            if waiting.scalar_one() == 0:
                return
        await asyncio.sleep(0.2)


@dataclass
class _Row:
    name: str
    result: tuple[float, float, float, int]  # per s, p50 ms, p99 ms, failures
    cpu_ms: dict[str, float]  # by process, per request
    batches: int | None  # trade batches, for the orders rows


async def _row(
    name: str,
    requests: int,
    measure: Callable[[], Awaitable[tuple[float, float, float, int]]],
    trades: bool,
) -> _Row:
    before, batches_before = cpu_seconds_by_role(), await _trade_batches()
    result = await measure()
    # Confirmations (stream, email) are delivered after the answers: count their cost here,
    # and keep it out of the next row.
    await _deliveries_done()
    batches = await _trade_batches() - batches_before
    cpu = per_request_ms(before, cpu_seconds_by_role(), requests)
    return _Row(name, result, cpu, batches if trades else None)


async def _measure_rows(
    http: tuple[str, int],
    traders: list[dict[str, str]],
    markets: dict[int, list[str]],
    clients: int,
    requests: int,
    rounds: int,
) -> list[_Row]:
    """For each round and each market count: the ceiling, then our orders (a ceiling next to
    the row it bounds, so a noisy minute hits both)."""
    rows = []
    for _ in range(rounds):
        for count, ids in markets.items():
            plural = "s" if count > 1 else ""
            ceiling = partial(_ceiling, clients, requests, count)
            orders = partial(_orders, http, traders, ids, clients, requests)
            name = f"no-op update, {count} workflow{plural} (ceiling)"
            rows.append(await _row(name, requests, ceiling, trades=False))
            name = f"orders via API, {count} market{plural}"
            rows.append(await _row(name, requests, orders, trades=True))
    return rows


def _report(rows: list[_Row], clients: int, requests: int) -> None:
    print(f"\n{clients} concurrent clients, {requests} requests each row (2-core machine)\n")
    print(f"{'what':40} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8} {'failed':>7}")
    for row in rows:
        rate, p50, p99, failed = row.result
        print(f"{row.name:40} {rate:8.1f} {p50:8.1f} {p99:8.1f} {failed:7d}")
    print("\nCPU ms per request, by process (idle work over the same time included)")
    for row in rows:
        parts = ", ".join(f"{role} {ms:.2f}" for role, ms in row.cpu_ms.items())
        print(f"{row.name}: total {sum(row.cpu_ms.values()):.2f} = {parts}")
    print("\nTrade batches (each a workflow task, a local activity and a transaction)")
    for row in rows:
        if row.batches is not None:
            per_batch = requests / max(row.batches, 1)
            print(f"{row.name}: {row.batches} batches, {per_batch:.1f} orders per batch")
    for ceiling, ours in zip(rows[::2], rows[1::2], strict=True):
        label = ours.name.removeprefix("orders via API, ")
        print(
            f"{label}: throughput {ours.result[0] / ceiling.result[0]:.0%} of the ceiling "
            f"(target >= 80%), p99 {ours.result[2] / ceiling.result[2]:.2f}x the ceiling's "
            "(target <= 2x)"
        )


async def _run(clients: int, requests: int, market_counts: list[int], rounds: int) -> None:
    from cli.devstack import DevStack
    from core.config import get_settings
    from core.db import transaction
    from core.migrate import upgrade_to_head
    from models.users import Role
    from services.accounts.users import create_user

    root = Path(tempfile.mkdtemp(prefix="oddsmith-bench-"))
    _configure_environment(root)
    settings = get_settings()
    stack = DevStack(settings=settings, log_dir=root / "logs")
    try:
        stack.start_infrastructure()
        await asyncio.to_thread(upgrade_to_head, settings.async_database_url)
        stack.start_services()
        await asyncio.to_thread(stack.wait_until_ready)
        async with transaction() as conn:
            await create_user(
                conn, email="bench-admin@example.com", password="bench-password-1", role=Role.ADMIN
            )
        base = f"http://{settings.api_host}:{settings.api_port}"
        limits = httpx.Limits(max_connections=clients * 2, max_keepalive_connections=clients * 2)
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as api:
            login = await api.post(
                "/v1/auth/login",
                json={"email": "bench-admin@example.com", "password": "bench-password-1"},
            )
            admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
            traders = await _setup_traders(api, 16)
            markets = {n: await _create_markets(api, admin, n) for n in market_counts}
            http = (settings.api_host, settings.api_port)
            warm_up = markets[market_counts[0]]
            await _orders(http, traders, warm_up, clients, min(100, requests))
            await _deliveries_done()
            rows = await _measure_rows(http, traders, markets, clients, requests, rounds)
    finally:
        await asyncio.to_thread(stack.stop)
        shutil.rmtree(root, ignore_errors=True)  # its Postgres and Temporal data
    _report(rows, clients, requests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument(
        "--markets", type=int, nargs="+", default=[1, 8], help="market counts, a row pair each"
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="times to measure every pair in the same stack"
    )
    args = parser.parse_args()
    # The ceiling sends every request of a row to one workflow run, which the server refuses
    # past these limits (TEMPORAL.md); the market workflows roll over, the no-op does not.
    if not 0 < args.requests <= CEILING_REQUESTS:
        parser.error(f"--requests must be 1-{CEILING_REQUESTS} (updates per workflow run)")
    if not 0 < args.clients <= MAX_IN_FLIGHT_UPDATES:
        parser.error(f"--clients must be 1-{MAX_IN_FLIGHT_UPDATES} (updates in flight per run)")
    if any(n < 1 for n in args.markets) or args.rounds < 1:
        parser.error("--markets and --rounds take positive numbers")
    asyncio.run(_run(args.clients, args.requests, args.markets, args.rounds))


if __name__ == "__main__":
    main()
