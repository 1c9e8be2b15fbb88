"""The SSE response: replay (or snapshot) first, then live events, written as raw ASGI.

Once the preamble is sent and nothing is queued, the sender task hands the hub a direct writer
for the socket and sleeps: live rounds then cost the hub one socket write per client. If the
socket stops keeping up, the hub queues instead and wakes the sender, which writes the queue
through ASGI (waiting for the socket) until it is empty again. Live events at or below the last
sequence already sent are dropped, which closes the race between subscribing and replaying. A
stream the hub closes (the client lagged) ends; if the socket is stuck, the sender is cancelled
and the server drops the connection. Either way the client resumes with Last-Event-ID.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from services.streaming.hub import StreamHub, Subscription
from services.streaming.wire import direct_writer

Preamble = AsyncIterator[tuple[int | None, bytes]]

_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
_RETRY = b"retry: 1000\n\n"


class EventStreamResponse(Response):
    media_type = "text/event-stream"

    def __init__(
        self, hub: StreamHub, sub: Subscription, preamble: Preamble | None, floor: int = -1
    ) -> None:
        super().__init__(media_type=self.media_type)
        self.hub = hub
        self.sub = sub
        self.preamble = preamble
        sub.floor = floor  # the last sequence number the client has (or will have) seen
        self.sending = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sender = asyncio.create_task(self._send_events(scope, send))
        watcher = asyncio.create_task(_wait_for_disconnect(receive))

        def kill() -> None:
            if self.sending:
                sender.cancel()

        self.sub.on_kill = kill
        try:
            await asyncio.wait({sender, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sender, watcher):
                task.cancel()
            for task in (sender, watcher):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            self.hub.unsubscribe(self.sub)
            self.sub.on_kill = None

    async def _write(self, send: Send, body: bytes, more: bool = True) -> None:
        self.sending = True
        try:
            await send({"type": "http.response.body", "body": body, "more_body": more})
        finally:
            self.sending = False

    async def _send_events(self, scope: Scope, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
        await self._write(send, _RETRY)
        sub = self.sub
        if self.preamble is not None:
            await self._send_preamble(send, self.preamble)
        direct = direct_writer(scope)
        while not sub.closed:
            if not sub.pending:
                sub.direct = direct
                await sub.wakeup.wait()
                sub.direct = None
                continue
            out = sub.take()
            if out:
                await self._write(send, out[0] if len(out) == 1 else b"".join(out))
        await self._write(send, b"", more=False)

    async def _send_preamble(self, send: Send, preamble: Preamble) -> None:
        sub = self.sub
        chunk: list[bytes] = []
        async for seq, message in preamble:
            if sub.closed:
                break
            chunk.append(message)
            if seq is not None:
                sub.floor = max(sub.floor, seq)
            if len(chunk) >= 100:
                await self._write(send, b"".join(chunk))
                chunk = []
        if chunk:
            await self._write(send, b"".join(chunk))


async def _wait_for_disconnect(receive: Receive) -> None:
    while True:
        message: Any = await receive()
        if message["type"] == "http.disconnect":
            return
