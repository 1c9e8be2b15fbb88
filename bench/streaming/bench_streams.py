"""Price-stream fan-out benchmark: N SSE clients (load generator in its own process) on one API
process while trade batches commit in several markets; the same run measures a plain
sse-starlette loop as the baseline.

Batches are written by the trade engine's own writer (`MarketEventWriter`: same transaction,
same NOTIFY) rather than through Temporal, which tops out near 200 orders/s on this machine.
Latency is from just before commit to the client's read. Usage:
    .venv/bin/python -m bench.streaming.bench_streams [N ...]
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

MARKETS = 10
BATCHES_PER_SECOND = 2  # per market; each batch is a trade, a ticker and a book event
SECONDS = 10


async def produce(market_ids: list[int], stop: asyncio.Event) -> None:
    from core.db import transaction
    from services.trading.stream import MarketEventWriter

    book = {"bids": [[f"0.{50 - i}", 10 + i] for i in range(10)], "asks": []}
    while not stop.is_set():
        started = time.perf_counter()
        for m in market_ids:
            async with transaction() as conn:
                w = MarketEventWriter(conn, m)
                t = time.time()
                w.add("trade", {"price": "0.50", "count": 3, "kind": "mint", "t": t})
                w.add("ticker", {"last_price": "0.50", "volume": 3, "t": t})
                w.add("book", {**book, "t": t})
                await w.flush()
        await asyncio.sleep(max(0, 1 / BATCHES_PER_SECOND - (time.perf_counter() - started)))


def start_server(app: str, port: int, factory: bool) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "uvicorn", app, "--port", str(port), "--log-level", "error"]
    if factory:
        args.append("--factory")
    return subprocess.Popen(args, env=os.environ.copy())


async def wait_up(port: int) -> None:
    for _ in range(400):
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise RuntimeError("server did not start")


async def measure(app: str, factory: bool, n: int, market_ids: list[int]) -> dict[str, float]:
    from core.embedded import free_port

    port = free_port()
    server = start_server(app, port, factory)
    try:
        await wait_up(port)
        await asyncio.sleep(1)
        proc = psutil.Process(server.pid)
        rss0 = proc.memory_info().rss
        stop = asyncio.Event()
        producer = asyncio.create_task(produce(market_ids, stop))
        load = await asyncio.create_subprocess_exec(
            sys.executable,
            str(Path(__file__).with_name("loadgen.py")),
            str(port),
            str(n),
            ",".join(map(str, market_ids)),
            str(SECONDS),
            stdout=subprocess.PIPE,
            limit=1 << 26,
        )
        assert load.stdout is not None
        connected = json.loads(await load.stdout.readline())["connected"]
        await load.stdout.readline()  # measuring
        rss1 = proc.memory_info().rss
        cpu0 = sum(proc.cpu_times()[:2])
        result = json.loads(await load.stdout.readline())
        cpu1 = sum(proc.cpu_times()[:2])
        stop.set()
        await producer
        await load.wait()
        lat = result["lat"]
        count = result["count"]

        def pct(p: float) -> float:
            return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")

        return {
            "n": n,
            "connected": connected,
            "messages": count,
            "p50_ms": pct(0.50),
            "p99_ms": pct(0.99),
            "cpu_us_per_msg": (cpu1 - cpu0) / count * 1e6 if count else float("nan"),
            "kib_per_conn": (rss1 - rss0) / 1024 / max(1, connected),
        }
    finally:
        server.terminate()
        server.wait(10)


async def main(sizes: list[int]) -> None:
    from sqlalchemy import text

    from core.db import transaction

    ids = []
    async with transaction() as conn:
        for i in range(MARKETS):
            ids.append(
                (
                    await conn.execute(
                        text(
                            "INSERT INTO markets (title, status, open_time, close_time) VALUES "
                            "(:t, 'open', now(), now() + interval '1 day') RETURNING id"
                        ),
                        {"t": f"bench {i}"},
                    )
                ).scalar_one()
            )
    print(f"{MARKETS} markets x {BATCHES_PER_SECOND} batches/s x 3 events; {SECONDS}s per point")
    print("server     N  connected  msgs/s   p50 ms   p99 ms  CPU us/msg  KiB/conn")
    for n in sizes:
        for name, app, factory in (
            ("oddsmith", "api.app:create_app", True),
            ("baseline", "bench.streaming.baseline_app:app", False),
        ):
            r = await measure(app, factory, n, ids)
            print(
                f"{name:8} {n:6} {r['connected']:9} {r['messages'] / SECONDS:8.0f} "
                f"{r['p50_ms']:8.1f} {r['p99_ms']:8.1f} {r['cpu_us_per_msg']:10.1f} "
                f"{r['kib_per_conn']:9.1f}",
                flush=True,
            )


if __name__ == "__main__":
    from core.embedded import EmbeddedPostgres, free_port

    root = Path(tempfile.mkdtemp(prefix="oddsmith-bench-"))
    pg = EmbeddedPostgres(root / "pg", port=free_port(), durable=False)
    pg.start()
    try:
        os.environ.update(DATABASE_URL=pg.url, ODDSMITH_ENV="test", LOG_LEVEL="ERROR")
        from core.config import get_settings
        from core.migrate import upgrade_to_head

        upgrade_to_head(get_settings().async_database_url)
        asyncio.run(main([int(a) for a in sys.argv[1:]] or [100, 1000, 3000]))
    finally:
        pg.stop()
