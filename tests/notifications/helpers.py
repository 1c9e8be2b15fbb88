"""Helpers for notification tests: traders with delivery settings, inbox reads."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text

from core.db import connection
from tests.helpers import Client, fund, register
from tests.notifications.conftest import WebhookReceiver

DOLLARS = 1_000_000


async def trader(
    api: httpx.AsyncClient, webhooks: WebhookReceiver | None = None, *, fail: bool = False
) -> tuple[Client, str | None]:
    """A funded user; with `webhooks`, one whose webhook points at the receiver (its secret)."""
    user = await register(api)
    await fund(user.id, 100 * DOLLARS)
    if webhooks is None:
        return user, None
    path = f"{'fail' if fail else 'ok'}/{user.id}"
    answer = await api.put(
        "/v1/me/notification-settings",
        json={"webhook_url": webhooks.url(path), "channels": {}},
        headers=user.headers,
    )
    assert answer.status_code == 200, answer.text
    return user, answer.json()["webhook_secret"]


async def inbox(api: httpx.AsyncClient, user: Client, **params: Any) -> list[dict[str, Any]]:
    answer = await api.get("/v1/me/notifications", params=params, headers=user.headers)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


async def kinds(api: httpx.AsyncClient, user: Client) -> list[str]:
    return sorted(n["kind"] for n in await inbox(api, user, limit=200))


async def stream_kinds(user: Client) -> list[str]:
    """The `notification` events on the user's own stream (user_events), by kind."""
    async with connection() as conn:
        rows = await conn.execute(
            text(
                "SELECT payload->>'kind' FROM user_events WHERE user_id = :u "
                "AND kind = 'notification' ORDER BY seq"
            ),
            {"u": int(user.id)},
        )
        return sorted(r[0] for r in rows)


async def deliveries(notification_id: str) -> dict[str, str]:
    async with connection() as conn:
        rows = await conn.execute(
            text("SELECT channel, status FROM deliveries WHERE notification_id = :n"),
            {"n": int(notification_id)},
        )
        return {c: s for c, s in rows}
