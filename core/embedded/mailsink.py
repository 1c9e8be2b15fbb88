"""The development SMTP sink: a real SMTP server (aiosmtpd) that keeps every message it receives
as a `.eml` file (open it with any mail client, or read it as text) instead of sending it on.

`oddsmith dev` runs it as `python -m core.embedded.mailsink --dir .data/mail --port 1025`.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class MailDirectory:
    """An aiosmtpd handler that writes each message to `<dir>/<time>-<n>.eml`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{self.count:06d}.eml"
        content = envelope.original_content or envelope.content
        (self.directory / name).write_bytes(content)
        print(f"mail to {', '.join(envelope.rcpt_tos)} saved as {name}", flush=True)
        return "250 Message accepted for delivery"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    args = parser.parse_args()
    controller = Controller(MailDirectory(args.dir), hostname=args.host, port=args.port)
    controller.start()
    print(f"SMTP sink on {args.host}:{args.port}, mail kept in {args.dir}", flush=True)

    async def wait_for_stop() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()

    try:
        asyncio.run(wait_for_stop())
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
