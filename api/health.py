"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from core.db import get_engine, sql

router = APIRouter(tags=["operations"])

READINESS_TIMEOUT_SECONDS = 3.0


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _check_database() -> None:
    async with get_engine().connect() as conn:
        await conn.execute(sql("SELECT 1"))


async def _check_temporal(request: Request) -> None:
    client = await request.app.state.temporal()
    await client.service_client.check_health()


async def _probe(name: str, check: Any) -> tuple[str, str | None]:
    try:
        await asyncio.wait_for(check, READINESS_TIMEOUT_SECONDS)
    except Exception as exc:  # every failure is a reason to report, not to raise
        return name, f"{type(exc).__name__}: {exc}"[:300] or type(exc).__name__
    return name, None


@router.get("/readyz", summary="Postgres and Temporal are reachable")
async def readyz(request: Request) -> JSONResponse:
    results = await asyncio.gather(
        _probe("database", _check_database()), _probe("temporal", _check_temporal(request))
    )
    checks = {name: ("ok" if reason is None else reason) for name, reason in results}
    failing = {name: reason for name, reason in results if reason is not None}
    if failing:
        body = {
            "error": {
                "code": "unavailable",
                "message": "not ready: " + ", ".join(f"{k} ({v})" for k, v in failing.items()),
                "details": {"checks": checks},
            }
        }
        return JSONResponse(body, 503, headers={"Retry-After": "2"})
    return JSONResponse({"status": "ready", "checks": checks})


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
