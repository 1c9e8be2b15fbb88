"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

from api import health
from api.errors import install_error_handlers
from api.metrics import RequestMetrics
from api.openapi import install_openapi
from api.order_groups import OrderGroups
from api.routes import (
    admin_users,
    api_keys,
    auth,
    markets,
    notifications,
    orders,
    resolution,
    stream,
    wallet,
)
from api.routes.stream import StreamFastPath, start_stream_hub, stop_stream_hub
from api.security import SecureResponses
from api.temporal_client import LazyTemporalClient
from core.config import get_settings
from core.db import dispose_engine
from core.heap import freeze_startup_heap


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.temporal = LazyTemporalClient()
    settings = get_settings()
    app.state.order_groups = OrderGroups(
        settings.order_updates_in_flight_per_market, settings.order_group_gather_ms / 1000
    )
    await start_stream_hub()
    freeze_startup_heap()
    yield
    await stop_stream_hub()
    await dispose_engine()


class OddsmithApi(FastAPI):
    def build_middleware_stack(self) -> ASGIApp:
        # Streams are served ahead of every middleware, the error middleware included (the
        # streams app has its own): see api/routes/stream.py.
        return StreamFastPath(super().build_middleware_stack())


def create_app() -> FastAPI:
    settings = get_settings()
    app = OddsmithApi(
        title="Oddsmith",
        version="1",
        summary="Prediction markets: trade contracts on the outcome of future events.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(RequestMetrics)
    app.add_middleware(SecureResponses)
    if settings.cors_origins:
        # Closed by default: only origins named in CORS_ORIGINS may call from a browser.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(markets.router)
    app.include_router(resolution.router)
    app.include_router(orders.router)
    app.include_router(api_keys.router)
    app.include_router(admin_users.router)
    app.include_router(wallet.router)
    app.include_router(stream.router)
    app.include_router(notifications.router)
    install_openapi(app)
    return app
