"""`oddsmith dev` brings up the whole stack the way the README's run command does, then stops it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from core.embedded import free_port
from core.embedded.temporal_server import temporal_binary
from core.names import SERVICE_QUEUES


def _wait_for_banner(proc: subprocess.Popen[str], timeout: float) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if line.startswith("Press Ctrl-C"):
            return lines
    raise AssertionError("oddsmith dev never became ready:\n" + "\n".join(lines))


def _pollers(address: str, queue: str) -> int:
    out = subprocess.run(
        [temporal_binary(), "task-queue", "describe", "--address", address,
         "--task-queue", queue, "--output", "json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return len(json.loads(out.stdout).get("pollers") or [])


def test_dev_command_runs_the_stack_and_stops_cleanly(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("db", "temporal", "ui", "api")}
    env = os.environ.copy()
    env.update(
        ODDSMITH_ENV="development",
        ODDSMITH_DATA_DIR=str(tmp_path / "data"),
        DATABASE_URL=f"postgresql://postgres@127.0.0.1:{ports['db']}/oddsmith",
        TEMPORAL_ADDRESS=f"127.0.0.1:{ports['temporal']}",
        TEMPORAL_UI_PORT=str(ports["ui"]),
        API_PORT=str(ports["api"]),
        TASK_QUEUE_PREFIX="",
        ODDSMITH_ADMIN_EMAIL="root@example.com",
        ODDSMITH_ADMIN_PASSWORD="a-long-admin-password",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "dev"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        banner = "\n".join(_wait_for_banner(proc, timeout=120))
        api = f"http://127.0.0.1:{ports['api']}"
        assert f"{api}/docs" in banner
        assert f"http://127.0.0.1:{ports['ui']}" in banner
        ready = httpx.get(f"{api}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "temporal": "ok"}
        assert httpx.get(f"http://127.0.0.1:{ports['ui']}/", timeout=10).status_code == 200
        markets = httpx.get(f"{api}/v1/markets", timeout=5).json()["items"]
        assert len(markets) == 3  # the demo data
        for queue in SERVICE_QUEUES:
            assert _pollers(f"127.0.0.1:{ports['temporal']}", queue) >= 1, queue
        descendants = psutil.Process(proc.pid).children(recursive=True)
        assert len(descendants) >= 6  # postgres, temporal, four workers, the API
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert "Stopped." in out
    time.sleep(0.5)
    assert not [p for p in descendants if p.is_running() and p.status() != "zombie"]
    assert (tmp_path / "data" / "postgres" / "PG_VERSION").exists()  # data persists


def test_dev_command_names_the_port_that_is_taken(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = os.environ.copy()
        env.update(
            ODDSMITH_DATA_DIR=str(tmp_path / "data"),
            DATABASE_URL=f"postgresql://postgres@127.0.0.1:{free_port()}/oddsmith",
            TEMPORAL_ADDRESS=f"127.0.0.1:{port}",
        )
        result = subprocess.run(
            [sys.executable, "-m", "cli.main", "dev"],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode == 2
    assert f"port {port}" in result.stderr
    assert "TEMPORAL_ADDRESS" in result.stderr
