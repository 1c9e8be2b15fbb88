"""CPU time per process of the benchmark's stack, to show where a request's cost goes."""

from __future__ import annotations

import os

import psutil


def _role(process: psutil.Process) -> str:
    command = process.cmdline()
    joined = " ".join(command)
    if "postgres" in joined or (command and command[0].endswith("postgres")):
        return "postgres"
    if "temporal" in joined and "server" in joined:
        return "temporal server"
    if "worker" in command:
        return f"worker {command[command.index('worker') + 1]}"
    if "api" in command:
        return "api"
    if "mailsink" in joined:
        return "mail sink"
    return "bench process" if process.pid == os.getpid() else "other"


def cpu_seconds_by_role() -> dict[str, float]:
    """Seconds of CPU (user + system) each role of this process tree has used so far."""
    me = psutil.Process()
    totals: dict[str, float] = {}
    for process in [me, *me.children(recursive=True)]:
        try:
            times = process.cpu_times()
            role = _role(process)
        except psutil.Error:
            continue  # exited meanwhile
        totals[role] = totals.get(role, 0.0) + times.user + times.system
    return totals


def per_request_ms(
    before: dict[str, float], after: dict[str, float], requests: int
) -> dict[str, float]:
    """Every role that worked during the row (even 0.01 ms per request counts towards the
    total, so the total is the whole stack's cost, not its largest parts)."""
    return {
        role: (after[role] - before.get(role, 0.0)) * 1000 / requests
        for role in sorted(after)
        if after[role] - before.get(role, 0.0) >= 0.00001 * requests
    }
