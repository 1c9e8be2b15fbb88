"""Platform processes for fault tests: `oddsmith` commands as children of the test."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import httpx


def spawn_oddsmith(*argv: str, **env: str) -> subprocess.Popen[bytes]:
    """Run `oddsmith ARGV...` with the test stack's environment plus `env`."""
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", *argv],
        env={**os.environ, "LOG_LEVEL": "WARNING", **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def wait_healthy(client: httpx.AsyncClient) -> None:
    """Until the API behind `client` answers /healthz (bounded: about 15 s)."""
    for _ in range(300):
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError("the API did not come up")
