"""What admins do to users: list them, change their role, suspend and reactivate them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from core.db import sql
from services.accounts.auth import _USER_COLUMNS, AuthUser


async def list_users(
    conn: AsyncConnection,
    *,
    limit: int,
    after_id: int | None = None,
    role: str | None = None,
    status: str | None = None,
    email: str | None = None,
) -> list[AuthUser]:
    """Users in id order after `after_id`; `limit + 1` rows tell the caller there are more."""
    rows = await conn.execute(
        sql(
            f"SELECT {_USER_COLUMNS} FROM users "
            "WHERE (CAST(:after AS bigint) IS NULL OR id > :after) "
            "AND (CAST(:role AS text) IS NULL OR role = :role) "
            "AND (CAST(:status AS text) IS NULL OR status = :status) "
            "AND (CAST(:email AS text) IS NULL OR email LIKE '%' || :email || '%') "
            "ORDER BY id LIMIT :limit"
        ),
        {"after": after_id, "role": role, "status": status, "email": email, "limit": limit},
    )
    return [AuthUser(*row) for row in rows]


async def update_user(
    conn: AsyncConnection, user_id: int, *, role: str | None, status: str | None
) -> AuthUser | None:
    row = (
        await conn.execute(
            sql(
                "UPDATE users SET role = coalesce(:role, role), status = coalesce(:status, status) "
                f"WHERE id = :id RETURNING {_USER_COLUMNS}"
            ),
            {"id": user_id, "role": role, "status": status},
        )
    ).one_or_none()
    return AuthUser(*row) if row else None
