"""API keys for bots: random, prefixed `osk_`, stored only as a sha256, revocable at once.

The keys carry 256 bits of randomness, so a plain sha256 (no salt, no slow hash) is enough to
make a leaked table useless, and lets a request find its key with one indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from core.db import sql

KEY_PREFIX = "osk_"
MAX_ACTIVE_KEYS = 25


class TooManyKeysError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: int
    name: str
    prefix: str  # the first characters of the key, so its owner can tell keys apart
    created_at: datetime


def is_api_key(token: str) -> bool:
    return token.startswith(KEY_PREFIX)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_api_key(conn: AsyncConnection, user_id: int, name: str) -> tuple[ApiKey, str]:
    """A new key for the user: its record and the key itself (never stored, never shown again)."""
    # Lock the user's row so two concurrent creations cannot both pass the cap.
    await conn.execute(sql("SELECT id FROM users WHERE id = :u FOR UPDATE"), {"u": user_id})
    active = await conn.execute(
        sql("SELECT count(*) FROM api_keys WHERE user_id = :u AND revoked_at IS NULL"),
        {"u": user_id},
    )
    if int(active.scalar_one()) >= MAX_ACTIVE_KEYS:
        raise TooManyKeysError(f"at most {MAX_ACTIVE_KEYS} active API keys per user")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = (
        await conn.execute(
            sql(
                "INSERT INTO api_keys (user_id, name, prefix, key_hash) "
                "VALUES (:u, :n, :p, :h) RETURNING id, name, prefix, created_at"
            ),
            {"u": user_id, "n": name, "p": key[:12], "h": hash_key(key)},
        )
    ).one()
    return ApiKey(*row), key


async def list_api_keys(conn: AsyncConnection, user_id: int) -> list[ApiKey]:
    rows = await conn.execute(
        sql(
            "SELECT id, name, prefix, created_at FROM api_keys "
            "WHERE user_id = :u AND revoked_at IS NULL ORDER BY id"
        ),
        {"u": user_id},
    )
    return [ApiKey(*row) for row in rows]


async def revoke_api_key(conn: AsyncConnection, user_id: int, key_id: int) -> bool:
    """Revoke one of the user's keys; False if the user has no such active key."""
    row = await conn.execute(
        sql(
            "UPDATE api_keys SET revoked_at = now() "
            "WHERE id = :id AND user_id = :u AND revoked_at IS NULL RETURNING id"
        ),
        {"id": key_id, "u": user_id},
    )
    return row.scalar_one_or_none() is not None


async def user_id_for_key(conn: AsyncConnection, key: str) -> int | None:
    row = await conn.execute(
        sql("SELECT user_id FROM api_keys WHERE key_hash = :h AND revoked_at IS NULL"),
        {"h": hash_key(key)},
    )
    user_id = row.scalar_one_or_none()
    return None if user_id is None else int(user_id)
