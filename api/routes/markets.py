"""Markets: create (admin), list, detail, book, trades, candles and the admin lifecycle."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.deps import AdminUser, TemporalClient
from api.errors import ApiError
from api.market_calls import update_market
from api.routes.pagination import Cursor, Limit, cursor_id, path_id
from core.config import get_settings
from core.db import connection, transaction
from models.trading import (
    BookView,
    CandleView,
    LifecycleRequest,
    MarketStateView,
    MarketView,
    Page,
    TradeView,
)
from services.trading import market_reads
from services.trading.markets import (
    CreateMarketRequest,
    UnknownEventError,
    insert_market,
    list_markets,
    market_view,
    start_market_workflow,
)

router = APIRouter(tags=["markets"])

MarketStatusFilter = Literal[
    "scheduled", "open", "paused", "closed", "resolving", "disputed", "resolved", "settled"
]


async def _market_or_404(market_id: int) -> MarketView:
    async with connection() as conn:
        view = await market_view(conn, market_id)
    if view is None:
        raise ApiError("not_found", f"no market {market_id}")
    return view


@router.post("/v1/markets", status_code=201, response_model=MarketView)
async def create_market(
    body: CreateMarketRequest, admin: AdminUser, temporal: TemporalClient
) -> MarketView:
    try:
        async with transaction() as conn:
            market = await insert_market(conn, body)
    except UnknownEventError as exc:
        raise ApiError("invalid_request", str(exc), details={"event_id": body.event_id}) from exc
    await start_market_workflow(temporal, market, get_settings().market_rollover_events)
    # The workflow opens a market whose open_time has come in its first batch; wait for it
    # briefly so the answer shows the market as traders will find it.
    view = await _market_or_404(int(market.id))
    for _ in range(100):
        if view.status != "scheduled" or view.open_time > datetime.now(view.open_time.tzinfo):
            break
        await asyncio.sleep(0.02)
        view = await _market_or_404(int(market.id))
    return view


@router.get("/v1/markets", response_model=Page[MarketView])
async def get_markets(
    limit: Limit = 50, cursor: Cursor = None, status: MarketStatusFilter | None = None
) -> Page[MarketView]:
    async with connection() as conn:
        items = await list_markets(conn, status, limit + 1, cursor_id(cursor))
    next_cursor = items[limit - 1].id if len(items) > limit else None
    return Page[MarketView](items=items[:limit], next_cursor=next_cursor)


@router.get("/v1/markets/{market_id}", response_model=MarketView)
async def get_market(market_id: str) -> MarketView:
    return await _market_or_404(path_id(market_id, "market"))


@router.get("/v1/markets/{market_id}/book", response_model=BookView)
async def get_book(market_id: str, depth: Annotated[int, Query(ge=1, le=100)] = 10) -> BookView:
    mid = path_id(market_id, "market")
    await _market_or_404(mid)
    async with connection() as conn:
        return await market_reads.book(conn, mid, depth)


@router.get("/v1/markets/{market_id}/trades", response_model=Page[TradeView])
async def get_trades(market_id: str, limit: Limit = 50, cursor: Cursor = None) -> Page[TradeView]:
    mid = path_id(market_id, "market")
    await _market_or_404(mid)
    async with connection() as conn:
        return await market_reads.trades(conn, mid, limit, cursor)


@router.get("/v1/markets/{market_id}/candles", response_model=list[CandleView])
async def get_candles(
    market_id: str,
    interval: Literal["1m", "1h", "1d"] = "1h",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[CandleView]:
    mid = path_id(market_id, "market")
    await _market_or_404(mid)
    async with connection() as conn:
        return await market_reads.candles(conn, mid, interval, limit)


class CloseTimeBody(BaseModel):
    close_time: datetime


async def _lifecycle(
    temporal: TemporalClient, market_id: str, update: str, request: LifecycleRequest
) -> MarketView:
    mid = path_id(market_id, "market")
    await _market_or_404(mid)
    await update_market(temporal, str(mid), update, request, MarketStateView)
    return await _market_or_404(mid)


@router.post("/v1/markets/{market_id}/pause", response_model=MarketView)
async def pause_market(market_id: str, admin: AdminUser, temporal: TemporalClient) -> MarketView:
    return await _lifecycle(temporal, market_id, "pause", LifecycleRequest(reason="admin"))


@router.post("/v1/markets/{market_id}/resume", response_model=MarketView)
async def resume_market(market_id: str, admin: AdminUser, temporal: TemporalClient) -> MarketView:
    return await _lifecycle(temporal, market_id, "resume", LifecycleRequest(reason="admin"))


@router.post("/v1/markets/{market_id}/close", response_model=MarketView)
async def close_market(market_id: str, admin: AdminUser, temporal: TemporalClient) -> MarketView:
    return await _lifecycle(temporal, market_id, "close", LifecycleRequest(reason="admin"))


@router.patch("/v1/markets/{market_id}", response_model=MarketView)
async def move_close_time(
    market_id: str, body: CloseTimeBody, admin: AdminUser, temporal: TemporalClient
) -> MarketView:
    if body.close_time.tzinfo is None:
        raise ApiError("invalid_request", "close_time must carry a timezone")
    request = LifecycleRequest(reason="admin", close_time=body.close_time)
    return await _lifecycle(temporal, market_id, "set_close_time", request)
