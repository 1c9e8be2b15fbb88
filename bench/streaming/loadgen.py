"""The load generator (its own process): N SSE clients on raw sockets; prints latencies as JSON.

Usage: loadgen.py PORT N MARKET_IDS(comma) SECONDS
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time

STAMP = re.compile(rb'"t": ([0-9.]+)')


async def client(
    port: int, market: int, lat: list[float], stop: asyncio.Event, up: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /v1/stream/markets/{market} HTTP/1.1\r\nHost: b\r\n\r\n".encode())
    up[0] += 1
    buf = b""
    while not stop.is_set():
        chunk = await reader.read(65536)
        if not chunk:
            return
        now = time.time()
        buf += chunk
        *lines, buf = buf.split(b"\n")
        for line in lines:
            found = STAMP.search(line)
            if found:
                lat.append(now - float(found.group(1)))
    writer.close()


async def main() -> None:
    port, n, markets, seconds = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    ids = [int(m) for m in markets.split(",")]
    lat: list[float] = []
    stop = asyncio.Event()
    up = [0]
    tasks = []
    for i in range(n):
        tasks.append(asyncio.create_task(client(port, ids[i % len(ids)], lat, stop, up)))
        if i % 200 == 199:
            await asyncio.sleep(0.05)
    print(json.dumps({"connected": up[0]}), flush=True)
    await asyncio.sleep(2)  # let the snapshots arrive
    lat.clear()
    print(json.dumps({"measuring": True}), flush=True)
    await asyncio.sleep(seconds)
    got = sorted(lat)
    stop.set()
    print(json.dumps({"count": len(got), "lat": got[:: max(1, len(got) // 20000)]}), flush=True)


asyncio.run(main())
