"""Who is calling: users from access tokens, registration and login."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

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
            text(f"SELECT {_USER_COLUMNS} FROM users WHERE id = :id"), {"id": user_id}
        )
    ).one_or_none()
    return AuthUser(*row) if row else None


async def authenticate_token(conn: AsyncConnection, token: str) -> AuthUser:
    """The user a bearer token (an access token or an API key) belongs to, or
    AuthenticationError. The caller decides what a suspended user may do."""
    if is_api_key(token):
        key_user = await user_id_for_key(conn, token)
        if key_user is None:
            raise AuthenticationError("invalid or revoked API key")
        user_id = key_user
    else:
        try:
            user_id = read_access_token(token)
        except InvalidTokenError as exc:
            raise AuthenticationError("invalid or expired token") from exc
    user = await user_by_id(conn, user_id)
    if user is None:
        raise AuthenticationError("invalid or expired token")
    return user


async def check_credentials(conn: AsyncConnection, email: str, password: str) -> AuthUser:
    """The user with these credentials; the same error whether the email exists or not."""
    row = (
        await conn.execute(
            text(f"SELECT {_USER_COLUMNS}, password_hash FROM users WHERE email = :e"),
            {"e": normalize_email(email)},
        )
    ).one_or_none()
    password_hash = row[-1] if row else None
    if not verify_password(password_hash, password) or row is None:
        raise AuthenticationError("wrong email or password")
    return AuthUser(*row[:-1])
