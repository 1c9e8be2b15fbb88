"""A real SMTP sink (aiosmtpd) and a real webhook receiver (an HTTP server on a free port) for
the notification tests, and the settings that point the in-process workers at them."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from core.embedded import free_port
from tests.stack import TestStack


@dataclass
class SmtpSink:
    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]

    def kinds_to(self, address: str) -> list[str]:
        """The kinds of the notifications mailed to `address`, a digest's one by one."""
        return [kind for m in self.to(address) for kind in message_kinds(m)]

    def with_kind(self, address: str, kind: str) -> Message | None:
        """The message (single or digest) that carried a `kind` notification to `address`."""
        return next((m for m in self.to(address) if kind in message_kinds(m)), None)


def message_kinds(message: Message) -> list[str]:
    if message["X-Oddsmith-Kind"] != "digest":
        return [str(message["X-Oddsmith-Kind"])]
    return [k.strip() for k in str(message["X-Oddsmith-Kinds"]).split(",")]


@dataclass
class Hook:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class WebhookReceiver:
    """Answers 200 on /ok/..., 500 on /fail/...; records every request."""

    port: int
    received: list[Hook] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def at(self, path: str) -> list[Hook]:
        return [h for h in self.received if h.path == "/" + path]


@pytest.fixture(scope="session")
def smtp_sink(stack: TestStack) -> Iterator[SmtpSink]:
    sink = SmtpSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    os.environ.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(port),
        WEBHOOK_ATTEMPTS="3",
        WEBHOOK_BACKOFF_SECONDS="0.2",
        WEBHOOK_MAX_FAILURES="2",
    )
    from core.config import get_settings

    get_settings.cache_clear()
    yield sink
    controller.stop()
    for name in ("SMTP_HOST", "SMTP_PORT"):
        os.environ.pop(name, None)
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def webhooks() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(port=free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver.received.append(Hook(self.path, dict(self.headers.items()), body))
            status = 500 if self.path.startswith("/fail") else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", receiver.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()


async def eventually(check: Callable[[], Any], within: float = 20.0) -> Any:
    """Poll until `check()` returns something truthy (sync or async), or fail."""
    deadline = time.monotonic() + within
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"not true within {within}s (last: {last!r})")
