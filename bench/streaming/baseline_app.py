"""The baseline: a plain sse-starlette loop (one queue per client, JSON encoded per client)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI
from sse_starlette.sse import EventSourceResponse

from core.config import get_settings
from services.trading.stream import MARKET_CHANNEL

clients: dict[int, set[asyncio.Queue[dict[str, Any]]]] = {}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    conn = await asyncpg.connect(get_settings().asyncpg_dsn)

    async def fetch(payload: str) -> None:
        market, first, last = (int(p) for p in payload.split(":"))
        rows = await conn.fetch(
            "SELECT seq, kind, payload::text FROM market_events "
            "WHERE market_id = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq",
            market,
            first,
            last,
        )
        for seq, kind, body in rows:
            event = {"id": seq, "event": kind, "payload": json.loads(body)}
            for queue in clients.get(market, ()):
                queue.put_nowait(event)

    lock = asyncio.Lock()

    async def serial(payload: str) -> None:
        async with lock:
            await fetch(payload)

    await conn.add_listener(
        MARKET_CHANNEL, lambda *a: asyncio.get_running_loop().create_task(serial(a[3]))
    )
    yield
    await conn.close()


app = FastAPI(lifespan=lifespan)


@app.get("/v1/stream/markets/{market_id}")
async def stream(market_id: int) -> EventSourceResponse:
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    clients.setdefault(market_id, set()).add(queue)

    async def events() -> AsyncIterator[dict[str, Any]]:
        try:
            while True:
                e = await queue.get()
                yield {"id": str(e["id"]), "event": e["event"], "data": json.dumps(e["payload"])}
        finally:
            clients[market_id].discard(queue)

    return EventSourceResponse(events(), ping=15)
