"""`oddsmith dev`: the whole platform on one machine, from wheels, stopped cleanly by Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from core.config import Settings
from core.embedded import EmbeddedPostgres, EmbeddedTemporal, ensure_port_free
from core.embedded.process import spawn, terminate
from core.migrate import upgrade_to_head
from core.names import SERVICE_QUEUES

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def _host_port(address: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    return parts.hostname or "127.0.0.1", parts.port or default_port


@dataclass
class DevStack:
    """Embedded Postgres and Temporal, the workers and the API, as child processes."""

    settings: Settings
    log_dir: Path
    postgres: EmbeddedPostgres | None = None
    temporal: EmbeddedTemporal | None = None
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def check_ports(self) -> None:
        """Fail before starting anything, naming the port and the setting that moves it."""
        db_host, db_port = _host_port(self.settings.database_url, 5432)
        t_host, t_port = _host_port(self.settings.temporal_address, 7233)
        if db_host in LOCAL_HOSTS:
            ensure_port_free(db_host, db_port, "DATABASE_URL")
        if t_host in LOCAL_HOSTS:
            ensure_port_free(t_host, t_port, "TEMPORAL_ADDRESS")
            ensure_port_free(t_host, self.settings.temporal_ui_port, "TEMPORAL_UI_PORT")
        ensure_port_free(self.settings.api_host, self.settings.api_port, "API_PORT")
        if self.runs_mail_sink:
            ensure_port_free("127.0.0.1", self.settings.smtp_port, "SMTP_PORT")

    def start_infrastructure(self) -> None:
        db_host, db_port = _host_port(self.settings.database_url, 5432)
        database = urlsplit(self.settings.database_url).path.lstrip("/") or "oddsmith"
        if db_host in LOCAL_HOSTS:
            self.postgres = EmbeddedPostgres(
                self.settings.data_dir / "postgres", host="127.0.0.1", port=db_port,
                database=database,
            )  # fmt: skip
            self.postgres.start()
        t_host, t_port = _host_port(self.settings.temporal_address, 7233)
        if t_host in LOCAL_HOSTS:
            self.temporal = EmbeddedTemporal(
                host="127.0.0.1",
                port=t_port,
                ui_port=self.settings.temporal_ui_port,
                db_file=self.settings.data_dir / "temporal.db",
                namespace=self.settings.temporal_namespace,
                log_file=self.log_dir / "temporal.log",
            )
            self.temporal.start()

    # Notifications: with no SMTP_HOST configured, mail goes to a local SMTP sink that keeps
    # every message as a file in `<data dir>/mail/`.
    @property
    def runs_mail_sink(self) -> bool:
        return not self.settings.smtp_host

    @property
    def mail_dir(self) -> Path:
        return self.settings.data_dir / "mail"

    def start_mail_sink(self, env: dict[str, str]) -> None:
        if not self.runs_mail_sink:
            return
        port = str(self.settings.smtp_port)
        self.children["mail-sink"] = spawn(
            [sys.executable, "-m", "core.embedded.mailsink", "--dir", str(self.mail_dir),
             "--port", port],
            env=env,
            log=self.log_dir / "mail-sink.log",
        )  # fmt: skip
        env.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port)

    def start_services(self) -> None:
        env = os.environ.copy()
        env.update(
            DATABASE_URL=self.settings.database_url,
            TEMPORAL_ADDRESS=self.settings.temporal_address,
            TEMPORAL_NAMESPACE=self.settings.temporal_namespace,
            API_HOST=self.settings.api_host,
            API_PORT=str(self.settings.api_port),
        )
        self.start_mail_sink(env)
        for queue in SERVICE_QUEUES:
            self.children[f"worker:{queue}"] = spawn(
                [sys.executable, "-m", "cli.main", "worker", queue],
                env=env,
                log=self.log_dir / f"worker-{queue}.log",
            )
        self.children["api"] = spawn(
            [sys.executable, "-m", "cli.main", "api"], env=env, log=self.log_dir / "api.log"
        )

    def wait_until_ready(self, timeout: float = 60.0) -> None:
        url = f"http://{self.settings.api_host}:{self.settings.api_port}/readyz"
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            self.raise_if_child_died()
            try:
                response = httpx.get(url, timeout=2)
                if response.status_code == 200:
                    return
                last = response.text
            except httpx.HTTPError as exc:
                last = str(exc)
            time.sleep(0.3)
        raise TimeoutError(f"the API did not become ready in {timeout}s: {last}")

    def raise_if_child_died(self) -> None:
        for name, proc in self.children.items():
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with status {proc.returncode}; see {self.log_dir}/"
                )

    def stop(self) -> None:
        for proc in self.children.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.children.values():
            terminate(proc, timeout=15)
        self.children.clear()
        if self.temporal is not None:
            self.temporal.stop()
        if self.postgres is not None:
            self.postgres.stop()


async def check_every_worker(settings: Settings) -> list[str]:
    """Run the SystemCheck workflow: each service's worker must answer its ping."""
    from core.names import system_check_workflow_id, task_queue
    from core.temporal import connect_temporal
    from workflows.system_check import SystemCheckInput, SystemCheckWorkflow

    client = await connect_temporal(settings)
    result = await client.execute_workflow(
        SystemCheckWorkflow.run,
        SystemCheckInput(task_queues={q: task_queue(q) for q in SERVICE_QUEUES}),
        id=system_check_workflow_id(uuid.uuid4().hex[:8]),
        task_queue=task_queue("orchestrator"),
    )
    return [f"{a.service} (pid {a.pid})" for a in result.answers]


def banner(settings: Settings, stack: DevStack, workers: list[str]) -> str:
    api = f"http://{settings.api_host}:{settings.api_port}"
    ui = stack.temporal.ui_url if stack.temporal else "(external Temporal)"
    return "\n".join(
        [
            "",
            "Oddsmith is running.",
            f"  API docs        {api}/docs",
            f"  Readiness       {api}/readyz",
            f"  Price stream    {api}/v1/stream/markets",
            f"  Temporal Web UI {ui}",
            f"  Temporal        {settings.temporal_address}"
            f" (namespace {settings.temporal_namespace})",
            f"  Postgres        {settings.database_url}",
            f"  Workers         {', '.join(workers)}",
            f"  Logs            {stack.log_dir}/",
            f"  Dev mail        {stack.mail_dir}/ (SMTP sink on 127.0.0.1:{settings.smtp_port})"
            if stack.runs_mail_sink
            else f"  Mail            via {settings.smtp_host}:{settings.smtp_port}",
            "Press Ctrl-C to stop everything.",
            "",
        ]
    )


def run_dev(settings: Settings, bootstrap: object) -> int:
    """Start everything, print where it is, wait for Ctrl-C, stop everything."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    stack = DevStack(settings=settings, log_dir=settings.data_dir / "logs")
    stack.check_ports()
    stopping = False

    def _request_stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGINT, _request_stop)
    try:
        print("Starting Postgres and the Temporal dev server ...", flush=True)
        stack.start_infrastructure()
        print("Applying database migrations ...", flush=True)
        upgrade_to_head(settings.async_database_url)
        if callable(bootstrap):
            for line in asyncio.run(bootstrap()):
                print(f"  {line}", flush=True)
        print("Starting the workers and the API ...", flush=True)
        stack.start_services()
        stack.wait_until_ready()
        workers = asyncio.run(check_every_worker(settings))
        print(banner(settings, stack, workers), flush=True)
        while not stopping:
            stack.raise_if_child_died()
            time.sleep(0.5)
        print("\nStopping ...", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stack.stop()
        print("Stopped.", flush=True)
