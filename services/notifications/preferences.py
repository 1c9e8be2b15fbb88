"""Per-user notification settings: email address, webhook URL and secret, channels per kind."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from core.db import sql

ALL_CHANNELS = ("inbox", "stream", "email", "webhook")


@dataclass
class Preferences:
    email: str | None
    account_email: str
    webhook_url: str | None
    webhook_secret: str | None
    webhook_failures: int
    webhook_enabled: bool
    channels: dict[str, list[str]] = field(default_factory=dict)

    @property
    def email_to(self) -> str:
        return self.email or self.account_email

    def wants(self, kind: str, channel: str) -> bool:
        chosen = self.channels.get(kind)
        return chosen is None or channel in chosen


def preferences_from_row(row: Any) -> Preferences:
    return Preferences(
        email=row.email,
        account_email=row.account_email,
        webhook_url=row.webhook_url,
        webhook_secret=row.webhook_secret,
        webhook_failures=int(row.webhook_failures or 0),
        webhook_enabled=row.webhook_url is not None and row.webhook_disabled_at is None,
        channels=dict(row.channels or {}),
    )


PREFERENCE_COLUMNS = (
    "u.email AS account_email, s.email, s.webhook_url, s.webhook_secret, s.webhook_failures, "
    "s.webhook_disabled_at, s.channels"
)


async def load_preferences(conn: AsyncConnection, user_id: int) -> Preferences:
    row = (
        await conn.execute(
            sql(
                f"SELECT {PREFERENCE_COLUMNS} FROM users u "
                "LEFT JOIN notification_settings s ON s.user_id = u.id WHERE u.id = :u"
            ),
            {"u": user_id},
        )
    ).one()
    return preferences_from_row(row)


async def save_preferences(
    conn: AsyncConnection,
    user_id: int,
    email: str | None,
    webhook_url: str | None,
    channels: dict[str, list[str]],
) -> Preferences:
    """Replace the settings. A new webhook URL gets a new secret and is (re-)enabled."""
    current = await load_preferences(conn, user_id)
    url_changed = webhook_url != current.webhook_url
    secret = current.webhook_secret
    if webhook_url is not None and (url_changed or secret is None):
        secret = "whsec_" + secrets.token_urlsafe(32)
    await conn.execute(
        sql(
            """
            INSERT INTO notification_settings (user_id, email, webhook_url, webhook_secret,
                webhook_failures, webhook_disabled_at, channels, updated_at)
            VALUES (:u, :email, :url, :secret, 0, NULL, CAST(:channels AS jsonb), now())
            ON CONFLICT (user_id) DO UPDATE SET email = EXCLUDED.email,
                webhook_url = EXCLUDED.webhook_url, webhook_secret = EXCLUDED.webhook_secret,
                channels = EXCLUDED.channels, updated_at = now(),
                webhook_failures = CASE WHEN :reset THEN 0
                    ELSE notification_settings.webhook_failures END,
                webhook_disabled_at = CASE WHEN :reset THEN NULL
                    ELSE notification_settings.webhook_disabled_at END
            """
        ),
        {
            "u": user_id,
            "email": email,
            "url": webhook_url,
            "secret": secret,
            "channels": json.dumps(channels),
            "reset": url_changed,
        },
    )
    return await load_preferences(conn, user_id)
