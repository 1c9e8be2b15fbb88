"""Access tokens (JWT, HS256, with expiry)."""

from __future__ import annotations

import time

import jwt

from core.config import get_settings


class InvalidTokenError(Exception):
    pass


def issue_access_token(user_id: int, role: str) -> str:
    settings = get_settings()
    now = int(time.time())
    claims = {"sub": str(user_id), "role": role, "iat": now, "exp": now + settings.jwt_ttl_seconds}
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


def read_access_token(token: str) -> int:
    """The user id in a valid, unexpired token."""
    try:
        claims = jwt.decode(token, get_settings().jwt_secret, algorithms=["HS256"])
        return int(claims["sub"])
    except (jwt.PyJWTError, KeyError, ValueError) as exc:
        raise InvalidTokenError(str(exc)) from exc
