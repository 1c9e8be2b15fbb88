"""Price-stream fan-out benchmark: N SSE clients (the load generator in processes of its own) on
one API process while trade batches commit in several markets; the same run measures a plain
sse-starlette loop as the baseline.

Batches are written by the trade engine's own writer (`MarketEventWriter`: same transaction,
same NOTIFY) rather than through Temporal, which tops out near 200 orders/s on this machine.
Latency is from just before commit to the client's read. Memory per connection is read once
every client has its response headers. Usage:
    .venv/bin/python -m bench.streaming.bench_streams [N ...] [--seconds S] [--loadgens K]
        [--servers oddsmith,baseline]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psutil

MARKETS = 10
BATCHES_PER_SECOND = 2  # per market; each batch is a trade, a ticker and a book event
SECONDS = 10
TARGET_P99_MS = 250
SERVERS = {  # name: (ASGI app, is a factory)
    "oddsmith": ("api.app:create_app", True),
    "baseline": ("bench.streaming.baseline_app:app", False),
}


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


async def start_loadgens(
    port: int, n: int, market_ids: list[int], shards: int
) -> list[asyncio.subprocess.Process]:
    return [
        await asyncio.create_subprocess_exec(
            sys.executable,
            str(Path(__file__).with_name("loadgen.py")),
            str(port),
            str(n),
            ",".join(map(str, market_ids)),
            str(shard),
            str(shards),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            limit=1 << 26,
        )
        for shard in range(shards)
    ]


async def ask(loadgen: asyncio.subprocess.Process, request: dict[str, Any] | None) -> Any:
    """Send one JSON line (if any) and read one back."""
    assert loadgen.stdin is not None and loadgen.stdout is not None
    if request is not None:
        loadgen.stdin.write(json.dumps(request).encode() + b"\n")
        await loadgen.stdin.drain()
    return json.loads(await loadgen.stdout.readline())


def cpu_seconds(procs: list[psutil.Process]) -> float:
    return sum(sum(p.cpu_times()[:2]) for p in procs)


def percentile(hist: Counter[int], p: float) -> float:
    """The p-quantile, in ms, of latencies counted in 0.1 ms buckets."""
    rank, seen = p * sum(hist.values()), 0
    for bucket in sorted(hist):
        seen += hist[bucket]
        if seen >= rank:
            return bucket / 10
    return float("nan")


async def measure(
    app: str, factory: bool, n: int, market_ids: list[int], seconds: float, shards: int
) -> dict[str, float]:
    from core.embedded import free_port

    port = free_port()
    server = start_server(app, port, factory)
    loadgens: list[asyncio.subprocess.Process] = []
    try:
        await wait_up(port)
        await asyncio.sleep(1)
        proc = psutil.Process(server.pid)
        rss0 = proc.memory_info().rss
        stop = asyncio.Event()
        producer = asyncio.create_task(produce(market_ids, stop))
        loadgens = await start_loadgens(port, n, market_ids, shards)
        ups = [await ask(lg, None) for lg in loadgens]
        ready = sum(u["ready"] for u in ups)
        await asyncio.sleep(2)  # past the last snapshots
        rss1 = proc.memory_info().rss
        clients = [psutil.Process(lg.pid) for lg in loadgens]
        sys0 = proc.cpu_times().system
        cpu0, load0, t0 = cpu_seconds([proc]), cpu_seconds(clients), time.perf_counter()
        results = await asyncio.gather(*(ask(lg, {"measure": seconds}) for lg in loadgens))
        cpu1, load1, t1 = cpu_seconds([proc]), cpu_seconds(clients), time.perf_counter()
        sys1 = proc.cpu_times().system
        stop.set()
        await producer
        for lg in loadgens:
            await lg.wait()
        count = sum(r["count"] for r in results)
        hist: Counter[int] = Counter()
        for r in results:
            hist.update({int(k): v for k, v in r["hist"].items()})
        return {
            "n": n,
            "ready": ready,
            "messages": count,
            "p50_ms": percentile(hist, 0.50),
            "p99_ms": percentile(hist, 0.99),
            "cpu_us_per_msg": (cpu1 - cpu0) / count * 1e6 if count else float("nan"),
            "server_cpu_pct": (cpu1 - cpu0) / (t1 - t0) * 100,
            "kernel_share_pct": (sys1 - sys0) / (cpu1 - cpu0) * 100 if cpu1 > cpu0 else 0.0,
            "loadgen_cpu_pct": (load1 - load0) / (t1 - t0) * 100,
            "kib_per_conn": (rss1 - rss0) / 1024 / max(1, ready),
        }
    finally:
        for lg in loadgens:
            if lg.returncode is None:
                lg.kill()
        server.terminate()
        server.wait(10)


async def main(args: argparse.Namespace) -> None:
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
    print(
        f"{MARKETS} markets x {BATCHES_PER_SECOND} batches/s x 3 events; {args.seconds:g}s per "
        f"point; load generator in {args.loadgens} processes",
        flush=True,
    )
    print(
        "server        N  ready  msgs/s   p50 ms   p99 ms  CPU us/msg  (kernel%)  server CPU%  "
        "loadgen CPU%  KiB/conn",
        flush=True,
    )
    best: dict[str, int] = {}
    for n in args.sizes:
        for name in args.servers:
            app, factory = SERVERS[name]
            r = await measure(app, factory, n, ids, args.seconds, args.loadgens)
            print(
                f"{name:8} {n:6} {r['ready']:6} {r['messages'] / args.seconds:7.0f} "
                f"{r['p50_ms']:8.1f} {r['p99_ms']:8.1f} {r['cpu_us_per_msg']:11.1f} "
                f"{r['kernel_share_pct']:10.0f} "
                f"{r['server_cpu_pct']:12.0f} {r['loadgen_cpu_pct']:13.0f} "
                f"{r['kib_per_conn']:9.1f}",
                flush=True,
            )
            if r["p99_ms"] < TARGET_P99_MS and r["ready"] == n:
                best[name] = max(best.get(name, 0), n)
    for name in args.servers:
        print(f"{name}: largest N measured with p99 < {TARGET_P99_MS} ms: {best.get(name, 'none')}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1000, 3000, 10000])
    parser.add_argument("--seconds", type=float, default=SECONDS, help="measured per point")
    parser.add_argument("--loadgens", type=int, default=2, help="load generator processes")
    parser.add_argument(
        "--servers",
        type=lambda v: v.split(","),
        default=list(SERVERS),
        help="comma-separated, of: " + ", ".join(SERVERS),
    )
    return parser.parse_args()


if __name__ == "__main__":
    args = parse_args()
    # Thousands of sockets: the server and the load generators inherit this limit.
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if max(args.sizes, default=0) + 1000 > hard:
        print(f"warning: {hard} file descriptors per process may be too few", file=sys.stderr)
    from core.embedded import EmbeddedPostgres, free_port

    root = Path(tempfile.mkdtemp(prefix="oddsmith-bench-"))
    pg = EmbeddedPostgres(root / "pg", port=free_port(), durable=False)
    pg.start()
    try:
        os.environ.update(DATABASE_URL=pg.url, ODDSMITH_ENV="test", LOG_LEVEL="ERROR")
        from core.config import get_settings
        from core.migrate import upgrade_to_head

        upgrade_to_head(get_settings().async_database_url)
        asyncio.run(main(args))
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)
