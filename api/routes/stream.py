"""Streams (Server-Sent Events): all markets, one market (snapshot, then replayable events), me.

The stream routes are served by a small app of their own in front of all of the main app's
middleware (`StreamFastPath`): that middleware buffers each chunk through an extra task and wraps
`send`, which hides the connection the hub writes live events to. They are also on the main
router, for the schema.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Query
from starlette.types import ASGIApp, Receive, Scope, Send

from api.deps import CurrentUser
from api.errors import ApiError, install_error_handlers
from api.routes.pagination import path_id
from core.config import get_settings
from services.streaming.hub import StreamHub
from services.streaming.reads import (
    events_after,
    market_exists,
    market_snapshot,
    user_stream_seq,
)
from services.streaming.sse import EventStreamResponse
from services.streaming.wire import SERVER_SEND, encode_event

router = APIRouter(tags=["streams"])

_hub: StreamHub | None = None

_SSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "An event stream."}
}

LastEventId = Annotated[
    str | None,
    Header(description="The last `id:` received; the stream replays what came after it."),
]
LastEventIdQuery = Annotated[
    str | None,
    Query(description="Same as the Last-Event-ID header, for clients that cannot set it."),
]


async def start_stream_hub() -> StreamHub:
    global _hub
    settings = get_settings()
    _hub = StreamHub(
        settings.asyncpg_dsn,
        queue_size=settings.stream_client_queue_size,
        heartbeat_seconds=settings.stream_heartbeat_seconds,
    )
    await _hub.start()
    return _hub


async def stop_stream_hub() -> None:
    global _hub
    if _hub is not None:
        await _hub.stop()
        _hub = None


def _live_hub() -> StreamHub:
    if _hub is None or not _hub.ready:
        raise ApiError("unavailable", "the stream listener is not connected; retry shortly")
    return _hub


def _resume_point(header: str | None, query: str | None) -> int | None:
    value = header if header is not None else query
    if value is None or value == "":
        return None
    try:
        seq = int(value)
    except ValueError:
        raise ApiError(
            "invalid_request", "Last-Event-ID must be an event id (an integer)"
        ) from None
    if seq < 0:
        raise ApiError("invalid_request", "Last-Event-ID must not be negative")
    return seq


async def _replay(table: str, key: int, after: int) -> AsyncIterator[tuple[int | None, bytes]]:
    async for seq, kind, payload in events_after(table, key, after):
        yield seq, encode_event(kind, payload, seq)


async def _one(seq: int, message: bytes) -> AsyncIterator[tuple[int | None, bytes]]:
    yield seq, message


@router.get(
    "/v1/stream/markets",
    response_class=EventStreamResponse,
    status_code=200,
    responses=_SSE,
    summary="Every market's ticker, status and significant_move events",
)
async def stream_all_markets() -> EventStreamResponse:
    hub = _live_hub()
    return EventStreamResponse(hub, hub.subscribe_all(), None)


@router.get(
    "/v1/stream/markets/{market_id}",
    response_class=EventStreamResponse,
    status_code=200,
    responses=_SSE,
    summary="One market: a snapshot, then ticker, trade, book, status, significant_move",
)
async def stream_market(
    market_id: str,
    last_event_id: LastEventId = None,
    last_event_id_query: Annotated[str | None, Query(alias="last_event_id")] = None,
) -> EventStreamResponse:
    key = path_id(market_id, "market")
    after = _resume_point(last_event_id, last_event_id_query)
    hub = _live_hub()
    # Subscribe before reading: whatever commits from now on reaches the queue, and the queue
    # drops what the snapshot or the replay already covered.
    sub = hub.subscribe_market(key)
    try:
        if after is not None:
            if not await market_exists(key):
                raise ApiError("not_found", f"no market {market_id}")
            return EventStreamResponse(hub, sub, _replay("market_events", key, after), after)
        snapshot = await market_snapshot(key)
        if snapshot is None:
            raise ApiError("not_found", f"no market {market_id}")
    except BaseException:
        hub.unsubscribe(sub)
        raise
    seq, body = snapshot
    return EventStreamResponse(hub, sub, _one(seq, encode_event("snapshot", body, seq)), seq)


@router.get(
    "/v1/stream/me",
    response_class=EventStreamResponse,
    status_code=200,
    responses=_SSE,
    summary="The caller's own order, fill and wallet events",
)
async def stream_me(
    user: CurrentUser,
    last_event_id: LastEventId = None,
    last_event_id_query: Annotated[str | None, Query(alias="last_event_id")] = None,
) -> EventStreamResponse:
    after = _resume_point(last_event_id, last_event_id_query)
    hub = _live_hub()
    user_id = int(user.id)
    sub = hub.subscribe_user(user_id)
    try:
        if after is None:
            return EventStreamResponse(hub, sub, None, await user_stream_seq(user_id))
    except BaseException:
        hub.unsubscribe(sub)
        raise
    return EventStreamResponse(hub, sub, _replay("user_events", user_id, after), after)


def _streams_app() -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    install_error_handlers(app)
    app.include_router(router)
    return app


class StreamFastPath:
    """Serve /v1/stream/ paths from the streams app, ahead of the main app's middleware.

    Wraps the whole middleware stack (see `api.app.OddsmithApi`), so `send` here is the
    server's own, which the stream response needs to find the socket (`wire.direct_writer`).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.streams = _streams_app()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1/stream/"):
            scope[SERVER_SEND] = send
            await self.streams(scope, receive, send)
        else:
            await self.app(scope, receive, send)
