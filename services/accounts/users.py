"""Creating and finding users."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from core.db import sql
from models.users import Role
from services.accounts.passwords import hash_password


class EmailTakenError(Exception):
    pass


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def ensure_user_accounts(conn: AsyncConnection, user_id: int) -> None:
    """Every user has an available and a reserved cash account from the start."""
    await conn.execute(
        sql(
            "INSERT INTO ledger_accounts (kind, user_id) VALUES "
            "('user_available', :u), ('user_reserved', :u) ON CONFLICT DO NOTHING"
        ),
        {"u": user_id},
    )


async def create_user(
    conn: AsyncConnection,
    *,
    email: str,
    password: str,
    display_name: str | None = None,
    role: Role = Role.CLIENT,
) -> int:
    email = normalize_email(email)
    row = await conn.execute(
        sql(
            "INSERT INTO users (email, password_hash, display_name, role) "
            "VALUES (:email, :hash, :name, :role) ON CONFLICT (email) DO NOTHING RETURNING id"
        ),
        {
            "email": email,
            "hash": hash_password(password),
            "name": display_name or email.split("@")[0],
            "role": role.value,
        },
    )
    user_id = row.scalar_one_or_none()
    if user_id is None:
        raise EmailTakenError(email)
    await ensure_user_accounts(conn, user_id)
    return int(user_id)


async def ensure_admin(conn: AsyncConnection, email: str, password: str) -> tuple[int, bool]:
    """The first admin from the environment: created if missing, promoted if a client."""
    existing = await conn.execute(
        sql("SELECT id FROM users WHERE email = :e"), {"e": normalize_email(email)}
    )
    user_id = existing.scalar_one_or_none()
    if user_id is not None:
        await conn.execute(sql("UPDATE users SET role = 'admin' WHERE id = :id"), {"id": user_id})
        return int(user_id), False
    return await create_user(conn, email=email, password=password, role=Role.ADMIN), True
