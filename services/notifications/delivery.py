"""Delivering stored notifications on the user's stream, by email and by webhook.

Each (notification, channel) is delivered at most once: a `deliveries` row records it, and a
retried activity skips what has a row. The stream is written in the same transaction as its
row (exactly once); email and webhook rows are written right after a successful send, and
every message carries its notification ids (an email's Message-ID, and a digest's
X-Oddsmith-Notifications; a webhook's X-Oddsmith-Delivery) so a receiver can drop the
duplicate a crash between the send and the row could still cause. Notifications of one page
for the same address go out as one email.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Sequence
from email.utils import parseaddr
from typing import Any

import aiosmtplib
import httpx
from sqlalchemy.ext.asyncio import AsyncConnection

from core.config import get_settings
from core.db import autocommit, connection, sql, transaction
from models.notifications import DeliveryResult, PagePlan, WebhookFailureResult
from services.notifications.mail import recipient, render_digest, render_email
from services.notifications.outbox import NewNotification, insert_notifications
from services.notifications.preferences import PREFERENCE_COLUMNS, preferences_from_row
from services.streaming.user_events import write_user_events

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Oddsmith-Signature"
DELIVERY_HEADER = "X-Oddsmith-Delivery"
EVENT_HEADER = "X-Oddsmith-Event"
SIGNATURE_TOLERANCE_SECONDS = 300


class DeliveryError(Exception):
    """A channel failed for some notifications; the activity is retried (sent ones skipped)."""


# ---------------------------------------------------------------- planning a page


_PLAN_SELECT = (
    f"SELECT n.id, n.user_id, n.kind, {PREFERENCE_COLUMNS} FROM notifications n "
    "JOIN users u ON u.id = n.user_id "
    "LEFT JOIN notification_settings s ON s.user_id = n.user_id "
)


async def plan_page(source: str, after_id: int, limit: int) -> PagePlan:
    """The next page of one source's notifications, after `after_id`."""
    async with connection() as conn:
        rows = (
            await conn.execute(
                sql(_PLAN_SELECT + "WHERE n.source = :s AND n.id > :after ORDER BY n.id LIMIT :n"),
                {"s": source, "after": after_id, "n": limit},
            )
        ).all()
    return _plan(rows, after_id)


async def count_marked_for_relay(up_to: int) -> int:
    """How many notifications wait for the relay, counted up to `up_to`."""
    async with autocommit() as conn:  # polled ten times a second: one round trip
        marked = await conn.execute(
            sql("SELECT count(*) FROM (SELECT 1 FROM notifications WHERE relay LIMIT :n) m"),
            {"n": up_to},
        )
        return int(marked.scalar_one())


async def plan_relay_page(limit: int) -> PagePlan:
    """The oldest notifications marked for the relay (trade batches mark theirs)."""
    async with autocommit() as conn:
        rows = (
            await conn.execute(
                sql(_PLAN_SELECT + "WHERE n.relay ORDER BY n.id LIMIT :n"), {"n": limit}
            )
        ).all()
    return _plan(rows, 0)


async def finish_relay(ids: list[int]) -> None:
    """Unmark a relayed page: every channel has run for it (or given up)."""
    async with transaction() as conn:
        await conn.execute(
            sql("UPDATE notifications SET relay = false WHERE id = ANY(:ids) AND relay"),
            {"ids": ids},
        )


def _plan(rows: Sequence[Any], after_id: int) -> PagePlan:
    smtp_on = bool(get_settings().smtp_host)
    plan = PagePlan(last_id=int(rows[-1].id) if rows else after_id, count=len(rows))
    for row in rows:
        prefs = preferences_from_row(row)
        nid = int(row.id)
        plan.ids.append(nid)
        if prefs.wants(row.kind, "stream"):
            plan.stream.append(nid)
        if smtp_on and prefs.wants(row.kind, "email"):
            plan.email.append(nid)
        if prefs.webhook_enabled and prefs.wants(row.kind, "webhook"):
            plan.webhook.setdefault(int(row.user_id), []).append(nid)
    return plan


async def _undelivered(conn: AsyncConnection, ids: list[int], channel: str) -> list[Any]:
    rows = await conn.execute(
        sql(
            "SELECT n.id, n.user_id, n.kind, n.title, n.body, n.data, n.created_at, "
            "u.email AS account_email, s.email FROM notifications n "
            "JOIN users u ON u.id = n.user_id "
            "LEFT JOIN notification_settings s ON s.user_id = n.user_id "
            "WHERE n.id = ANY(:ids) AND NOT EXISTS (SELECT 1 FROM deliveries d "
            "WHERE d.notification_id = n.id AND d.channel = :c) ORDER BY n.id"
        ),
        {"ids": ids, "c": channel},
    )
    return list(rows)


_MARK = sql(
    "INSERT INTO deliveries (notification_id, channel, status, detail) "
    "SELECT unnest(CAST(:ids AS bigint[])), :c, :s, :d ON CONFLICT DO NOTHING"
)


async def _mark(ids: list[int], channel: str, status: str, detail: str = "") -> None:
    if not ids:
        return
    async with autocommit() as conn:
        await _mark_on(conn, ids, channel, status, detail)


async def _mark_on(
    conn: AsyncConnection, ids: list[int], channel: str, status: str, detail: str = ""
) -> None:
    """Record deliveries on an autocommit connection: each mark is durable at once, so one
    connection serves a whole page's sends (a crash re-sends at most the message in flight)."""
    await conn.execute(_MARK, {"ids": ids, "c": channel, "s": status, "d": detail})


def public_payload(row: Any) -> dict[str, Any]:
    """A notification as the API, the stream and webhooks show it."""
    return {
        "id": str(row.id),
        "kind": row.kind,
        "title": row.title,
        "body": row.body,
        "data": row.data,
        "read": bool(getattr(row, "read", False)),
        "created_at": row.created_at.isoformat(),
    }


# ---------------------------------------------------------------- the stream


async def deliver_stream(ids: list[int]) -> DeliveryResult:
    """`notification` events on the users' own streams, with their delivery rows, in one
    transaction: exactly once."""
    async with transaction() as conn:
        claimed = (
            await conn.execute(
                sql(
                    "INSERT INTO deliveries (notification_id, channel, status) "
                    "SELECT unnest(CAST(:ids AS bigint[])), 'stream', 'sent' "
                    "ON CONFLICT DO NOTHING RETURNING notification_id"
                ),
                {"ids": ids},
            )
        ).all()
        fresh = sorted(int(r[0]) for r in claimed)
        if fresh:
            rows = await conn.execute(
                sql(
                    "SELECT id, user_id, kind, title, body, data, read, created_at "
                    "FROM notifications WHERE id = ANY(:ids) ORDER BY id"
                ),
                {"ids": fresh},
            )
            await write_user_events(
                conn, [(int(r.user_id), "notification", public_payload(r)) for r in rows]
            )
    return DeliveryResult(sent=len(fresh), skipped=len(ids) - len(fresh))


# ---------------------------------------------------------------- email


async def deliver_email(ids: list[int]) -> DeliveryResult:
    settings = get_settings()
    async with connection() as conn:
        rows = await _undelivered(conn, ids, "email")
    if not rows:
        return DeliveryResult(skipped=len(ids))
    sent: list[int] = []
    errors: list[str] = []
    sender = parseaddr(settings.mail_from)[1]
    smtp = aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        start_tls=settings.smtp_starttls,
        timeout=20,
    )
    try:
        await smtp.connect()
        if settings.smtp_username:
            await smtp.login(settings.smtp_username, settings.smtp_password)
        async with autocommit() as conn:
            for to, group in _by_recipient(rows).items():
                ids = [int(row.id) for row in group]
                message = (
                    render_email(group[0], settings.mail_from)
                    if len(group) == 1
                    else render_digest(group, settings.mail_from)
                )
                try:
                    await smtp.sendmail(sender, [to], message)
                except aiosmtplib.SMTPException as exc:
                    errors.append(f"notifications {ids}: {exc}")
                    continue
                sent += ids
                await _mark_on(conn, ids, "email", "sent")
    finally:
        if smtp.is_connected:
            try:
                await smtp.quit()
            except aiosmtplib.SMTPException:
                smtp.close()
    if errors:
        raise DeliveryError("; ".join(errors[:5]))
    return DeliveryResult(sent=len(sent), skipped=len(ids) - len(rows))


def _by_recipient(rows: Sequence[Any]) -> dict[str, list[Any]]:
    """A page's notifications per email address, in order: each address gets one message."""
    groups: dict[str, list[Any]] = {}
    for row in rows:
        groups.setdefault(recipient(row), []).append(row)
    return groups


# ---------------------------------------------------------------- webhooks


def sign_webhook(secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_webhook(
    secret: str,
    header: str,
    body: bytes,
    *,
    now: float | None = None,
    tolerance: int = SIGNATURE_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    expected = sign_webhook(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


async def deliver_webhook(user_id: int, ids: list[int]) -> DeliveryResult:
    async with connection() as conn:
        prefs_row = (
            await conn.execute(
                sql(
                    f"SELECT {PREFERENCE_COLUMNS} FROM users u "
                    "LEFT JOIN notification_settings s ON s.user_id = u.id WHERE u.id = :u"
                ),
                {"u": user_id},
            )
        ).one()
        rows = await _undelivered(conn, ids, "webhook")
    prefs = preferences_from_row(prefs_row)
    if not prefs.webhook_enabled or not prefs.webhook_url or not prefs.webhook_secret:
        await _mark([int(r.id) for r in rows], "webhook", "skipped", "webhook off")
        return DeliveryResult(skipped=len(ids))
    sent = 0
    async with httpx.AsyncClient(timeout=10) as client, autocommit() as conn:
        for row in rows:
            body = json.dumps({"user_id": str(user_id), **public_payload(row)}).encode()
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign_webhook(prefs.webhook_secret, int(time.time()), body),
                DELIVERY_HEADER: str(row.id),
                EVENT_HEADER: row.kind,
            }
            try:
                response = await client.post(prefs.webhook_url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                raise DeliveryError(f"webhook {prefs.webhook_url}: {exc!r}") from exc
            if not 200 <= response.status_code < 300:
                raise DeliveryError(f"webhook {prefs.webhook_url} answered {response.status_code}")
            await _mark_on(conn, [int(row.id)], "webhook", "sent")
            sent += 1
    if sent:
        async with transaction() as conn:
            await conn.execute(
                sql("UPDATE notification_settings SET webhook_failures = 0 WHERE user_id = :u"),
                {"u": user_id},
            )
    return DeliveryResult(sent=sent, skipped=len(ids) - len(rows))


async def record_webhook_failure(
    user_id: int, error: str, max_failures: int, source_key: str
) -> WebhookFailureResult:
    """One delivery gave up. After `max_failures` in a row the webhook is disabled and the
    user told (a `webhook_disabled` notification under its own source, returned to deliver).
    `source_key` names the failed delivery, so a retried call counts it once."""
    async with transaction() as conn:
        row = (
            await conn.execute(
                sql(
                    "UPDATE notification_settings SET webhook_failures = webhook_failures + 1 "
                    "WHERE user_id = :u AND webhook_disabled_at IS NULL "
                    "AND NOT EXISTS (SELECT 1 FROM notifications WHERE source = :k) "
                    "RETURNING webhook_failures, webhook_url"
                ),
                {"u": user_id, "k": f"webhook-failure:{source_key}"},
            )
        ).one_or_none()
        if row is None:
            return WebhookFailureResult(disabled=False)
        # A marker row (read already) so a retry of this activity does not count twice.
        await conn.execute(
            sql(
                "INSERT INTO notifications (user_id, kind, title, body, data, read, source) "
                "VALUES (:u, 'webhook_failed', 'Webhook delivery failed', :b, "
                "CAST(:d AS jsonb), false, :k)"
            ),
            {
                "u": user_id,
                "b": f"A notification could not be delivered to {row.webhook_url}: {error}",
                "d": json.dumps({"webhook_url": row.webhook_url, "failures": row.webhook_failures}),
                "k": f"webhook-failure:{source_key}",
            },
        )
        if int(row.webhook_failures) < max_failures:
            return WebhookFailureResult(disabled=False)
        await conn.execute(
            sql("UPDATE notification_settings SET webhook_disabled_at = now() WHERE user_id = :u"),
            {"u": user_id},
        )
        source = f"webhook-disabled:{user_id}:{source_key}"
        await insert_notifications(
            conn,
            source,
            [
                NewNotification(
                    user_id,
                    "webhook_disabled",
                    "Your webhook was disabled",
                    f"{row.webhook_url} failed {row.webhook_failures} deliveries in a row, so "
                    "we stopped sending to it. Set it again in your notification settings to "
                    "re-enable it.",
                    {"webhook_url": row.webhook_url, "last_error": error},
                )
            ],
        )
    log.warning("webhook of user %s disabled after %s failures", user_id, row.webhook_failures)
    return WebhookFailureResult(disabled=True, notice_source=source)
