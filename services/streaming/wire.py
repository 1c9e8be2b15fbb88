"""Stream bytes on the wire: SSE messages, rounds of them framed once, and direct socket writes.

A live subscriber costs one `transport.write` of bytes shared with every other subscriber of its
stream: the hub frames each round's events as one HTTP/1.1 chunk and writes it to the sockets
itself, instead of waking a task per client and passing each chunk through the ASGI send path.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import Scope, Send

HEARTBEAT = b": heartbeat\n\n"

# Where `StreamFastPath` leaves the server's own `send` in the scope: the app's middleware wraps
# `send` in functions that hide the connection behind it.
SERVER_SEND = "oddsmith.server_send"

Message = tuple[int | None, bytes]  # (the stream's sequence number, or None; the SSE bytes)


def encode_event(kind: str, data: str, event_id: int | str | None = None) -> bytes:
    """One SSE message. `data` is JSON text on one line (Postgres jsonb output is)."""
    if event_id is None:
        return f"event: {kind}\ndata: {data}\n\n".encode()
    return f"id: {event_id}\nevent: {kind}\ndata: {data}\n\n".encode()


def chunk(body: bytes) -> bytes:
    """`body` as one HTTP/1.1 chunk, framed exactly as uvicorn frames a streamed body."""
    return b"%x\r\n%b\r\n" % (len(body), body)


class Batch:
    """One round's messages for one stream, encoded and framed once for all its subscribers.

    `first` and `last` are the sequence numbers it spans (None on streams without ids).
    """

    __slots__ = ("first", "frame", "last", "messages")

    def __init__(self, messages: list[Message]) -> None:
        self.messages = messages
        self.first = messages[0][0]
        self.last = messages[-1][0]
        self.frame = chunk(b"".join(message for _, message in messages))


HEARTBEAT_BATCH = Batch([(None, HEARTBEAT)])


class DirectWriter:
    """Writes framed chunks to a client's socket, while the socket takes them without buffering.

    When the kernel's buffer is full, bytes would pile up in the transport instead; the hub then
    queues them for the client's sender task, which waits for the socket (and a client that falls
    too far behind is cut off).
    """

    __slots__ = ("transport",)

    def __init__(self, transport: asyncio.WriteTransport) -> None:
        self.transport = transport

    def ready(self) -> bool:
        return not self.transport.is_closing() and not self.transport.get_write_buffer_size()

    def write(self, frame: bytes) -> None:
        self.transport.write(frame)


def direct_writer(scope: Scope) -> DirectWriter | None:
    """A writer for this response's socket, once its headers are sent; None where not possible.

    Only uvicorn's httptools protocol is supported: it frames streamed bodies as chunks itself
    (`chunked_encoding`) and keeps no other state about them, so chunks written to its transport
    between two ASGI sends are indistinguishable from sent ones. Elsewhere streams keep the ASGI
    send path.
    """
    send: Send | None = scope.get(SERVER_SEND)
    cycle: Any = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if getattr(cycle, "chunked_encoding", None) is not True or transport is None:
        return None
    return DirectWriter(transport)
