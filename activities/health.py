"""A liveness activity every service registers, so a workflow can prove each queue is served."""

from __future__ import annotations

import os
import socket

from pydantic import BaseModel
from temporalio import activity


class PingResult(BaseModel):
    service: str
    host: str
    pid: int


def make_ping(service: str):  # type: ignore[no-untyped-def]
    @activity.defn(name=f"{service}.ping")
    async def ping() -> PingResult:
        return PingResult(service=service, host=socket.gethostname(), pid=os.getpid())

    return ping
