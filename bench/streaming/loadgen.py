"""The load generator (its own process): one shard of N SSE clients on raw sockets.

Clients are plain asyncio protocols on uvloop (no task per client), so a shard reads thousands
of sockets for little CPU and the benchmark measures the server, not this. Talks to the benchmark
over stdin/stdout, one JSON line each way:
    loadgen.py PORT N MARKET_IDS(comma) SHARD SHARDS
    -> {"ready": clients whose response headers arrived, "failed": ...}
    <- {"measure": SECONDS}
    -> {"count": stamped messages read, "hist": {latency in 0.1 ms: count}}
Client i (for i % SHARDS == SHARD) follows market MARKET_IDS[i % len(MARKET_IDS)].
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import resource
import sys
import time
from collections import Counter
from typing import Any

import uvloop

HOST = "127.0.0.1"
STAMP = re.compile(rb'"t": ([0-9.]+)')
WAVE = 250  # connections opened together; the next wave waits for their headers
WAVE_PATIENCE_SECONDS = 30


class Stats:
    def __init__(self) -> None:
        self.ready = 0
        self.failed = 0
        self.count = 0
        self.hist: Counter[int] = Counter()
        self.expected = 0  # clients opened so far; `settled` is set when all are ready or failed
        self.settled = asyncio.Event()

    def note(self, ready: bool) -> None:
        if ready:
            self.ready += 1
        else:
            self.failed += 1
        if self.ready + self.failed >= self.expected:
            self.settled.set()


class SseClient(asyncio.Protocol):
    def __init__(self, path: str, stats: Stats) -> None:
        self.request = f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
        self.stats = stats
        self.ready = False
        self.tail = b""

    def connection_made(self, transport: Any) -> None:
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.time()
        if not self.ready:
            self.ready = True
            self.stats.note(ready=True)
        # Only whole lines carry a whole stamp; the rest waits for the next read.
        data = self.tail + data
        end = data.rfind(b"\n") + 1
        self.tail = data[end:]
        stats = self.stats
        for stamp in STAMP.findall(data, 0, end):
            stats.count += 1
            stats.hist[int((now - float(stamp)) * 10_000)] += 1

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready:
            self.stats.note(ready=False)


async def connect_all(port: int, paths: list[str], stats: Stats) -> list[asyncio.BaseTransport]:
    loop = asyncio.get_running_loop()
    transports = []
    for start in range(0, len(paths), WAVE):
        wave = paths[start : start + WAVE]
        stats.expected += len(wave)
        stats.settled.clear()
        opened = await asyncio.gather(
            *(loop.create_connection(lambda p=p: SseClient(p, stats), HOST, port) for p in wave),
            return_exceptions=True,
        )
        for result in opened:
            if isinstance(result, BaseException):
                stats.note(ready=False)
            else:
                transports.append(result[0])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stats.settled.wait(), WAVE_PATIENCE_SECONDS)
    return transports


async def main() -> None:
    port, n, markets = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    shard, shards = int(sys.argv[4]), int(sys.argv[5])
    ids = [int(m) for m in markets.split(",")]
    paths = [f"/v1/stream/markets/{ids[i % len(ids)]}" for i in range(shard, n, shards)]
    stats = Stats()
    transports = await connect_all(port, paths, stats)
    print(json.dumps({"ready": stats.ready, "failed": stats.failed}), flush=True)
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    seconds = json.loads(line)["measure"]
    stats.count, stats.hist = 0, Counter()
    await asyncio.sleep(seconds)
    print(json.dumps({"count": stats.count, "hist": stats.hist}), flush=True)
    for transport in transports:
        transport.close()


if __name__ == "__main__":
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main())
