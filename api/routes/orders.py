"""Orders: place, read, cancel; my orders and my positions (API.md "Orders")."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from api.deps import CurrentUser, MarketOrderGroups, TemporalClient
from api.errors import ApiError
from api.market_calls import update_market
from api.routes.pagination import Limit, path_id
from core.db import connection
from models.money import MoneyFormatError, parse_money
from models.trading import (
    CLIENT_ORDER_ID_PATTERN,
    CancelAllRequest,
    CancelAllResult,
    CancelOrderRequest,
    OrderView,
    Page,
    PlaceOrderRequest,
)
from services.accounts.auth import AuthUser
from services.trading.orders import (
    CursorError,
    PositionView,
    my_orders,
    my_positions,
    one_order,
    order_of,
)
from services.trading.views import datetime_to_us

router = APIRouter(tags=["orders"])


class PlaceOrderBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["buy", "sell"]
    side: Literal["yes", "no"]
    count: StrictInt = Field(gt=0, le=1_000_000)
    price: str | None = Field(None, max_length=12, examples=["0.63"])
    type: Literal["limit", "market"] = "limit"
    time_in_force: Literal["gtc", "ioc", "fok", "gtd"] = "gtc"
    expires_at: datetime | None = None
    post_only: bool = False
    reduce_only: bool = False
    max_cost: str | None = Field(None, max_length=20, examples=["25.00"])
    client_order_id: str | None = Field(
        None, min_length=1, max_length=64, pattern=CLIENT_ORDER_ID_PATTERN
    )
    self_trade_prevention: Literal["cancel_resting", "cancel_taker"] = "cancel_resting"


def _micros(value: str | None, field: str, decimals: int) -> int | None:
    if value is None:
        return None
    try:
        return parse_money(value, decimals=decimals)
    except MoneyFormatError as exc:
        raise ApiError("invalid_request", f"{field}: {exc}") from exc


def to_request(user: AuthUser, body: PlaceOrderBody) -> PlaceOrderRequest:
    if body.expires_at is not None and body.expires_at.tzinfo is None:
        raise ApiError("invalid_request", "expires_at must carry a timezone")
    return PlaceOrderRequest(
        user_id=user.id,
        action=body.action,
        side=body.side,
        count=body.count,
        price=_micros(body.price, "price", 6),
        type=body.type,
        time_in_force=body.time_in_force,
        expires_at_us=datetime_to_us(body.expires_at),
        post_only=body.post_only,
        reduce_only=body.reduce_only,
        max_cost=_micros(body.max_cost, "max_cost", 6),
        client_order_id=body.client_order_id,
        self_trade_prevention=body.self_trade_prevention,
    )


@router.post(
    "/v1/markets/{market_id}/orders",
    status_code=201,
    response_model=OrderView,
    responses={200: {"description": "a repeated client_order_id: the first order"}},
)
async def place_order(
    market_id: str,
    body: PlaceOrderBody,
    user: CurrentUser,
    temporal: TemporalClient,
    groups: MarketOrderGroups,
    response: Response,
) -> OrderView:
    mid = path_id(market_id, "market")
    request = to_request(user, body)
    if body.client_order_id is not None:
        async with connection() as conn:
            first = await _order_by_client_id(conn, user.id, body.client_order_id)
        if first is not None:
            response.status_code = 200
            return first
    order = await groups.place(temporal, str(mid), request, _request_id(user, body))
    if order.market_id != str(mid):
        raise ApiError("conflict", "client_order_id was used for an order in another market")
    return order


def _request_id(user: AuthUser, body: PlaceOrderBody) -> str:
    """The id the order's id derives from: for a client_order_id, the same on every retry, so
    a retry that finds the first attempt still in the market's workflow waits for its answer
    (and one that comes later finds the order)."""
    if body.client_order_id is None:
        return uuid.uuid4().hex
    return f"order-{user.id}-{uuid.uuid5(uuid.NAMESPACE_URL, body.client_order_id)}"


async def _order_by_client_id(conn: object, user_id: int, client_order_id: str) -> OrderView | None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncConnection

    assert isinstance(conn, AsyncConnection)
    order_id = (
        await conn.execute(
            text("SELECT id FROM orders WHERE user_id = :u AND client_order_id = :c"),
            {"u": user_id, "c": client_order_id},
        )
    ).scalar_one_or_none()
    return None if order_id is None else await one_order(conn, order_id)


async def _owned_order(user: AuthUser, order_id: str) -> tuple[int, str]:
    if len(order_id) > 64:
        raise ApiError("not_found", "no such order")
    async with connection() as conn:
        found = await order_of(conn, order_id)
    if found is None or (found[1] != user.id and not user.is_admin):
        raise ApiError("not_found", "no such order")
    return found[0], found[2]


@router.get("/v1/orders/{order_id}", response_model=OrderView)
async def get_order(order_id: str, user: CurrentUser) -> OrderView:
    await _owned_order(user, order_id)
    async with connection() as conn:
        view = await one_order(conn, order_id)
    assert view is not None
    return view


@router.delete("/v1/orders/{order_id}", response_model=OrderView)
async def cancel_order(order_id: str, user: CurrentUser, temporal: TemporalClient) -> OrderView:
    market_id, status = await _owned_order(user, order_id)
    if status != "resting":
        raise ApiError("conflict", f"the order is {status}", details={"status": status})
    owner = None if user.is_admin else user.id
    request = CancelOrderRequest(user_id=owner, order_id=order_id)
    return await update_market(temporal, str(market_id), "cancel_order", request, OrderView)


@router.delete("/v1/markets/{market_id}/orders", response_model=CancelAllResult)
async def cancel_all_orders(
    market_id: str, user: CurrentUser, temporal: TemporalClient
) -> CancelAllResult:
    mid = path_id(market_id, "market")
    request = CancelAllRequest(user_id=user.id)
    return await update_market(temporal, str(mid), "cancel_all", request, CancelAllResult)


OrderStatusFilter = Literal["resting", "filled", "cancelled", "expired", "rejected"]


@router.get("/v1/me/orders", response_model=Page[OrderView])
async def get_my_orders(
    user: CurrentUser,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    status: OrderStatusFilter | None = None,
    market_id: Annotated[str | None, Query(max_length=19)] = None,
) -> Page[OrderView]:
    mid = None if market_id is None else path_id(market_id, "market")
    try:
        async with connection() as conn:
            return await my_orders(
                conn, user.id, status=status, market_id=mid, limit=limit, cursor=cursor
            )
    except CursorError as exc:
        raise ApiError("invalid_request", str(exc)) from exc


@router.get("/v1/me/positions", response_model=list[PositionView])
async def get_my_positions(user: CurrentUser) -> list[PositionView]:
    async with connection() as conn:
        return await my_positions(conn, user.id)
