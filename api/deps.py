"""Annotated dependencies that keep route signatures declarative."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from temporalio.client import Client

from api.errors import ApiError
from api.order_groups import OrderGroups
from api.ratelimit import RateLimiter, retry_after_header
from core.db import autocommit
from services.accounts.auth import AuthenticationError, AuthUser, authenticate_token

_bearer = HTTPBearer(auto_error=False, description="A login token or an API key (osk_...)")


def _rate_limiter(request: Request) -> RateLimiter:
    limiter = getattr(request.app.state, "rate_limiter", None)
    if limiter is None:
        limiter = request.app.state.rate_limiter = RateLimiter()
    return limiter


async def _current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AuthUser:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(
            "unauthorized", "missing bearer token", headers={"WWW-Authenticate": "Bearer"}
        )
    try:
        user = await authenticate_token(credentials.credentials, autocommit)
    except AuthenticationError as exc:
        raise ApiError("unauthorized", str(exc), headers={"WWW-Authenticate": "Bearer"}) from exc
    if not user.is_active:
        raise ApiError("forbidden", "this account is suspended")
    wait = _rate_limiter(request).take(user.id, request.method)
    if wait is not None:
        raise ApiError(
            "rate_limited",
            "too many requests; retry later",
            details={"retry_after_seconds": round(wait, 3)},
            headers={"Retry-After": retry_after_header(wait)},
        )
    return user


async def _admin_user(user: Annotated[AuthUser, Depends(_current_user)]) -> AuthUser:
    if not user.is_admin:
        raise ApiError("forbidden", "this action needs the admin role")
    return user


async def _temporal(request: Request) -> Client:
    try:
        return await request.app.state.temporal()
    except RuntimeError as exc:  # the SDK's "Failed client connect"
        raise ApiError(
            "unavailable", "the orchestrator is unreachable; retry", headers={"Retry-After": "2"}
        ) from exc


async def _order_groups(request: Request) -> OrderGroups:
    # async although it awaits nothing: FastAPI runs a plain `def` dependency in a thread.
    groups: OrderGroups = request.app.state.order_groups
    return groups


CurrentUser = Annotated[AuthUser, Depends(_current_user)]
AdminUser = Annotated[AuthUser, Depends(_admin_user)]
TemporalClient = Annotated[Client, Depends(_temporal)]
MarketOrderGroups = Annotated[OrderGroups, Depends(_order_groups)]
