"""Who is calling: users from access tokens, registration and login."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from core.config import get_settings
from core.db import sql
from services.accounts.api_keys import is_api_key, user_id_for_key
from services.accounts.passwords import verify_password
from services.accounts.tokens import InvalidTokenError, read_access_token
from services.accounts.users import normalize_email


@dataclass(frozen=True, slots=True)
class AuthUser:
    id: int
    email: str
    display_name: str
    role: str
    status: str
    created_at: datetime

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_active(self) -> bool:
        return self.status == "active"


class AuthenticationError(Exception):
    pass


_USER_COLUMNS = "id, email, display_name, role, status, created_at"


async def user_by_id(conn: AsyncConnection, user_id: int) -> AuthUser | None:
    row = (
        await conn.execute(
            sql(f"SELECT {_USER_COLUMNS} FROM users WHERE id = :id"), {"id": user_id}
        )
    ).one_or_none()
    return AuthUser(*row) if row else None


class RecentUsers:
    """Users read in the last `ttl` seconds, by id: an access token's every request would
    otherwise read its user again (a round trip that was a third of an order's API time).
    Changes made in this process (suspension, role) call `forget`; another process's changes
    show within `ttl`. A ttl of 0 turns it off."""

    def __init__(self, ttl: float | None = None) -> None:
        self._ttl = ttl  # None: AUTH_CACHE_SECONDS, read when first needed (not at import)
        self._users: dict[int, tuple[float, AuthUser]] = {}

    @property
    def ttl(self) -> float:
        if self._ttl is None:
            self._ttl = get_settings().auth_cache_seconds
        return self._ttl

    def get(self, user_id: int) -> AuthUser | None:
        found = self._users.get(user_id)
        if found is None or time.monotonic() - found[0] > self.ttl:
            return None
        return found[1]

    def put(self, user: AuthUser) -> None:
        if self.ttl > 0:
            if len(self._users) > 100_000:
                self._users.clear()  # bounded: a cache, never a record
            self._users[user.id] = (time.monotonic(), user)

    def forget(self, user_id: int) -> None:
        self._users.pop(user_id, None)


recent_users = RecentUsers()


async def authenticate_token(
    token: str, connect: Callable[[], AbstractAsyncContextManager[AsyncConnection]]
) -> AuthUser:
    """The user a bearer token (an access token or an API key) belongs to, or
    AuthenticationError. The caller decides what a suspended user may do. API keys are
    looked up every time (a revoked key stops at once); an access token's user may come
    from `recent_users`, and then no database connection is taken (`connect` opens one
    only when a lookup is needed)."""
    if not is_api_key(token):
        try:
            user_id = read_access_token(token)
        except InvalidTokenError as exc:
            raise AuthenticationError("invalid or expired token") from exc
        cached = recent_users.get(user_id)
        if cached is not None:
            return cached
    async with connect() as conn:
        if is_api_key(token):
            key_user = await user_id_for_key(conn, token)
            if key_user is None:
                raise AuthenticationError("invalid or revoked API key")
            user_id = key_user
        user = await user_by_id(conn, user_id)
    if user is None:
        raise AuthenticationError("invalid or expired token")
    recent_users.put(user)
    return user


async def check_credentials(conn: AsyncConnection, email: str, password: str) -> AuthUser:
    """The user with these credentials; the same error whether the email exists or not."""
    row = (
        await conn.execute(
            sql(f"SELECT {_USER_COLUMNS}, password_hash FROM users WHERE email = :e"),
            {"e": normalize_email(email)},
        )
    ).one_or_none()
    password_hash = row[-1] if row else None
    if not verify_password(password_hash, password) or row is None:
        raise AuthenticationError("wrong email or password")
    return AuthUser(*row[:-1])
