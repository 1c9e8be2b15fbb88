"""Annotated dependencies that keep route signatures declarative."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from temporalio.client import Client

from api.errors import ApiError
from core.db import connection
from services.accounts.auth import AuthenticationError, AuthUser, authenticate_token

_bearer = HTTPBearer(auto_error=False, description="A login token or an API key")


async def _current_user(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AuthUser:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(
            "unauthorized", "missing bearer token", headers={"WWW-Authenticate": "Bearer"}
        )
    async with connection() as conn:
        try:
            user = await authenticate_token(conn, credentials.credentials)
        except AuthenticationError as exc:
            raise ApiError(
                "unauthorized", str(exc), headers={"WWW-Authenticate": "Bearer"}
            ) from exc
    if not user.is_active:
        raise ApiError("forbidden", "this account is suspended")
    return user


async def _admin_user(user: Annotated[AuthUser, Depends(_current_user)]) -> AuthUser:
    if not user.is_admin:
        raise ApiError("forbidden", "this action needs the admin role")
    return user


async def _temporal(request: Request) -> Client:
    return await request.app.state.temporal()


CurrentUser = Annotated[AuthUser, Depends(_current_user)]
AdminUser = Annotated[AuthUser, Depends(_admin_user)]
TemporalClient = Annotated[Client, Depends(_temporal)]
