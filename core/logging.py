"""Log lines with context: one format for every process of the platform."""

from __future__ import annotations

import logging
import sys


def configure_logging(level: str = "INFO", process: str = "oddsmith") -> None:
    fmt = f"%(asctime)s %(levelname)s {process} %(name)s: %(message)s"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # The SDK's and the HTTP client's debug chatter drowns out ours.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("temporalio").setLevel(logging.WARNING)
