"""Helpers for integration tests: users with tokens, funded wallets, admin users."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
from sqlalchemy import text

from core.db import transaction
from models.ledger import AccountKind
from services.accounts.ledger import (
    NewTransaction,
    platform_account,
    post_transaction,
    user_accounts,
)

PASSWORD = "correct-horse-battery-staple"


@dataclass
class Client:
    id: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def register(api: httpx.AsyncClient, *, admin: bool = False) -> Client:
    email = f"user-{uuid.uuid4().hex[:12]}@example.com"
    created = await api.post("/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    if admin:
        async with transaction() as conn:
            await conn.execute(
                text("UPDATE users SET role = 'admin' WHERE id = :id"), {"id": int(user_id)}
            )
    login = await api.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return Client(id=user_id, email=email, token=login.json()["access_token"])


async def fund(user_id: str, micros: int) -> None:
    """Credit a user's wallet as a completed deposit would."""
    async with transaction() as conn:
        external = await platform_account(conn, AccountKind.EXTERNAL)
        accounts = (await user_accounts(conn, [int(user_id)]))[int(user_id)]
        await post_transaction(
            conn,
            NewTransaction(
                "deposit",
                f"test-deposit:{uuid.uuid4()}",
                [(external, -micros), (accounts.available, micros)],
                user_id=int(user_id),
            ),
        )
