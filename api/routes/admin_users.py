"""Admin: list users, change roles, suspend and reactivate (API.md "Users and wallets")."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.deps import AdminUser, TemporalClient
from api.errors import ApiError
from api.market_calls import update_market
from api.routes.auth import user_public
from api.routes.pagination import Cursor, Limit, cursor_id, path_id
from core.db import connection, transaction
from models.trading import CancelAllRequest, CancelAllResult
from services.accounts.admin import list_users, update_user
from services.accounts.auth import recent_users
from services.accounts.schemas import UserList, UserPublic, UserUpdate
from services.trading.orders import markets_with_resting_orders

router = APIRouter(tags=["admin"])


@router.get("/v1/admin/users", response_model=UserList)
async def admin_list_users(
    _: AdminUser,
    limit: Limit = 50,
    cursor: Cursor = None,
    role: Annotated[Literal["client", "admin"] | None, Query()] = None,
    status: Annotated[Literal["active", "suspended"] | None, Query()] = None,
    email: Annotated[str | None, Query(max_length=320, description="part of the email")] = None,
) -> UserList:
    async with connection() as conn:
        users = await list_users(
            conn,
            limit=limit + 1,
            after_id=cursor_id(cursor),
            role=role,
            status=status,
            email=email.lower() if email else None,
        )
    page = users[:limit]
    more = len(users) > limit
    return UserList(
        items=[user_public(u) for u in page], next_cursor=str(page[-1].id) if more else None
    )


@router.patch("/v1/admin/users/{user_id}", response_model=UserPublic)
async def admin_update_user(
    admin: AdminUser, user_id: str, body: UserUpdate, temporal: TemporalClient
) -> UserPublic:
    """Change a user's role or status. A suspended user can no longer log in or use their
    tokens and API keys (403), and their resting orders are cancelled."""
    target = path_id(user_id, "user")
    if body.role is None and body.status is None:
        raise ApiError("invalid_request", "give a role, a status or both")
    if target == admin.id:
        # An admin who demotes or suspends themselves could leave the platform with no admin.
        raise ApiError("conflict", "admins cannot change their own role or status")
    async with transaction() as conn:
        user = await update_user(conn, target, role=body.role, status=body.status)
    recent_users.forget(target)  # committed: this process's next request reads it again
    if user is None:
        raise ApiError("not_found", "no such user")
    if body.status == "suspended":
        await cancel_resting_orders(temporal, target)
    return user_public(user)


async def cancel_resting_orders(temporal: TemporalClient, user_id: int) -> None:
    """Cancel the user's resting orders in every market, each through its own workflow."""
    async with connection() as conn:
        markets = await markets_with_resting_orders(conn, user_id)
    for market_id in markets:
        await update_market(
            temporal, str(market_id), "cancel_all", CancelAllRequest(user_id=user_id),
            CancelAllResult,
        )  # fmt: skip
