"""Helpers for deposit and withdrawal tests: wait for a payment to finish, read a wallet."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from tests.helpers import Client


async def wait_for_payment(
    api: httpx.AsyncClient, user: Client, kind: str, payment_id: str, within: float = 20
) -> dict[str, Any]:
    """Poll GET /v1/me/{kind}s/{id} until the payment is no longer pending."""
    deadline = time.monotonic() + within
    while True:
        answer = await api.get(f"/v1/me/{kind}s/{payment_id}", headers=user.headers)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        if body["status"] != "pending":
            return body
        assert time.monotonic() < deadline, f"{kind} {payment_id} still pending"
        await asyncio.sleep(0.05)


async def wallet_of(api: httpx.AsyncClient, user: Client) -> dict[str, str]:
    answer = await api.get("/v1/me/wallet", headers=user.headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, str] = answer.json()
    return body
