"""Helpers for stream tests: real uvicorn servers (ASGITransport buffers whole responses) and an
SSE reader that parses events off the wire."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from core.embedded import free_port

# A safety net so a broken stream fails the test instead of hanging it; never an assertion.
STALL_GUARD_SECONDS = 60


@dataclass
class Event:
    kind: str
    data: Any
    id: int | None


class ApiServer:
    def __init__(self, **env: str) -> None:
        self.port = free_port()
        self.env = {**os.environ, "LOG_LEVEL": "WARNING", **env}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        # Popen returns at once; the readiness wait below is asynchronous.
        self.process = subprocess.Popen(  # noqa: ASYNC220
            [
                sys.executable,
                "-m",
                "uvicorn",
                "api.app:create_app",
                "--factory",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env=self.env,
            preexec_fn=_die_with_parent,
        )
        async with httpx.AsyncClient() as client:
            for _ in range(600):
                try:
                    if (await client.get(self.url + "/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                assert self.process.poll() is None, "the API server exited"
                await asyncio.sleep(0.05)
        raise RuntimeError("the API server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM if the test process dies, so none is left behind."""
    import ctypes
    import signal

    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def parse_events(body: bytes) -> list[Event]:
    """The SSE events in a complete piece of a stream (comments skipped)."""
    events = []
    for block in body.decode().split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.split("\n") if line and not line.startswith(":")
        )
        if "event" in fields or "data" in fields:
            events.append(
                Event(
                    kind=fields.get("event", "message"),
                    data=json.loads(fields["data"]) if "data" in fields else None,
                    id=int(fields["id"]) if "id" in fields else None,
                )
            )
    return events


def parse_chunks(raw: bytes) -> list[bytes]:
    """The bodies of the HTTP/1.1 chunks in `raw`, which holds whole chunks only."""
    chunks = []
    while raw:
        size_line, _, raw = raw.partition(b"\r\n")
        size = int(size_line, 16)
        assert raw[size : size + 2] == b"\r\n", "a chunk must end with CRLF"
        chunks.append(raw[:size])
        raw = raw[size + 2 :]
    return chunks


async def read_chunk(reader: asyncio.StreamReader) -> bytes:
    """The body of the next HTTP/1.1 chunk on a raw connection (b"" for the last chunk)."""
    async with asyncio.timeout(STALL_GUARD_SECONDS):
        size = int((await reader.readline()).strip(), 16)
        chunk = await reader.readexactly(size + 2)
    assert chunk.endswith(b"\r\n")
    return chunk[:-2]


class SseReader:
    """Events from one open stream, read one at a time."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.lines = response.aiter_lines()
        self.heartbeats = 0

    async def next(self) -> Event | None:
        """The next event, or None when the server ended the stream."""
        fields: dict[str, str] = {}
        async with asyncio.timeout(STALL_GUARD_SECONDS):
            async for line in self.lines:
                if line == "":
                    if "event" in fields or "data" in fields:
                        return Event(
                            kind=fields.get("event", "message"),
                            data=json.loads(fields["data"]) if "data" in fields else None,
                            id=int(fields["id"]) if "id" in fields else None,
                        )
                    fields = {}
                    continue
                if line.startswith(":"):
                    self.heartbeats += 1
                    continue
                name, _, value = line.partition(":")
                fields[name] = value[1:] if value.startswith(" ") else value
        return None

    async def take(self, count: int) -> list[Event]:
        events = []
        for _ in range(count):
            event = await self.next()
            assert event is not None, f"stream ended after {events}"
            events.append(event)
        return events


@asynccontextmanager
async def open_stream(
    base_url: str, path: str, headers: dict[str, str] | None = None
) -> AsyncIterator[SseReader]:
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(60, read=None)) as client,
        client.stream("GET", path, headers=headers or {}) as response,
    ):
        assert response.status_code == 200, (await response.aread()).decode()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield SseReader(response)
