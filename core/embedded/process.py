"""Child processes that die with their parent, so Ctrl-C or a crash leaves nothing behind."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Linux only: the kernel sends SIGTERM to the child when the parent goes away.
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def spawn(
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    user: str | None = None,
    log: Path | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start a child in its own process group that is terminated when we exit."""
    out: IO[Any] | int | None = None
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        out = open(log, "ab")
    preexec: Callable[[], None] = _die_with_parent
    return subprocess.Popen(
        list(argv),
        env=env,
        user=user,
        stdout=out,
        stderr=subprocess.STDOUT if out is not None else None,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        preexec_fn=preexec,
        start_new_session=True,
    )


def terminate(
    proc: subprocess.Popen[bytes], timeout: float = 10.0, sig: int = signal.SIGTERM
) -> None:
    """Ask a child (and its process group) to stop, then kill it if it does not."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        proc.wait(5)
