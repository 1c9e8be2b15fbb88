"""Order confirmations and invoices reach the inbox, the user's stream, a real SMTP server and
a real webhook receiver (with a valid signature); delivery is idempotent per channel; a failing
webhook blocks neither email nor the trade, and is disabled after repeated failures."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text
from temporalio.client import Client as TemporalClient
from temporalio.client import WorkflowExecutionStatus

from activities.notifications import start_delivery
from core.db import connection, transaction
from core.names import notification_relay_workflow_id
from services.notifications.delivery import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    deliver_email,
    deliver_webhook,
    verify_webhook,
)
from services.notifications.outbox import NewNotification, insert_notifications
from tests.helpers import Client, register
from tests.notifications.conftest import SmtpSink, WebhookReceiver, eventually
from tests.notifications.helpers import deliveries, inbox, kinds, stream_kinds, trader
from tests.trading.helpers import create_market, order
from workers.schedules import replace_older_relay

ORDER_KINDS = [
    "order_accepted",
    "order_accepted",
    "order_cancelled",
    "order_expired",
    "order_partially_filled",
]


async def test_every_order_kind_reaches_inbox_stream_email_and_webhook(
    api: httpx.AsyncClient, smtp_sink: SmtpSink, webhooks: WebhookReceiver
) -> None:
    admin = await register(api, admin=True)
    (alice, alice_secret), (bob, bob_secret) = (
        await trader(api, webhooks),
        await trader(api, webhooks),
    )
    mid = (await create_market(api, admin))["id"]

    bid = await order(api, alice, mid, action="buy", side="yes", count=10, price="0.40")
    assert bid.json()["status"] == "resting"
    hit = await order(api, bob, mid, action="sell", side="yes", count=4, price="0.40")
    assert hit.json()["status"] == "filled", hit.text
    cancelled = await api.delete(f"/v1/orders/{bid.json()['id']}", headers=alice.headers)
    assert cancelled.status_code == 200, cancelled.text
    expires = (datetime.now(UTC) + timedelta(seconds=1.5)).isoformat()
    gtd = await order(
        api, alice, mid, action="buy", side="yes", count=1, price="0.10",
        time_in_force="gtd", expires_at=expires,
    )  # fmt: skip
    assert gtd.status_code == 201, gtd.text
    # A rejected order is answered at once (409) and is not a notification.
    rejected = await order(api, alice, mid, action="buy", side="yes", count=100_000, price="0.90")
    assert rejected.status_code == 409

    assert await eventually(lambda: _equal(kinds(api, alice), ORDER_KINDS))
    assert await kinds(api, bob) == ["order_filled"]
    await eventually(lambda: _equal(stream_kinds(alice), ORDER_KINDS))
    assert await stream_kinds(bob) == ["order_filled"]

    mailed = await eventually(
        lambda: len(smtp_sink.kinds_to(alice.email)) == 5 and smtp_sink.kinds_to(alice.email)
    )
    assert sorted(mailed) == ORDER_KINDS
    partial = smtp_sink.with_kind(alice.email, "order_partially_filled")
    assert partial is not None and "4 contracts filled" in partial.get_payload()
    assert await eventually(lambda: smtp_sink.kinds_to(bob.email) == ["order_filled"])

    hooks = await eventually(
        lambda: len(webhooks.at(f"ok/{alice.id}")) == 5 and webhooks.at(f"ok/{alice.id}")
    )
    assert alice_secret is not None and bob_secret is not None
    for hook in hooks:
        assert verify_webhook(alice_secret, hook.headers[SIGNATURE_HEADER], hook.body)
        assert not verify_webhook(bob_secret, hook.headers[SIGNATURE_HEADER], hook.body)
        assert hook.json["user_id"] == alice.id
        assert hook.headers[DELIVERY_HEADER] == hook.json["id"]
    assert sorted(h.json["kind"] for h in hooks) == ORDER_KINDS
    # A replayed signature is refused once its timestamp is old.
    old = hooks[0]
    assert not verify_webhook(
        alice_secret,
        old.headers[SIGNATURE_HEADER],
        old.body,
        now=datetime.now(UTC).timestamp() + 3600,
    )
    # Tampering with the body breaks the signature.
    assert not verify_webhook(alice_secret, old.headers[SIGNATURE_HEADER], old.body + b" ")

    # The fill's notification points at its invoice.
    notes = await inbox(api, bob)
    assert notes[0]["data"]["invoice_number"].startswith("INV-")
    assert notes[0]["data"]["filled_now"] == 4


async def _equal(value: object, expected: object) -> bool:
    return await value == expected  # type: ignore[misc]


async def test_a_retried_delivery_sends_once(
    api: httpx.AsyncClient, smtp_sink: SmtpSink, webhooks: WebhookReceiver, temporal_client
) -> None:
    admin = await register(api, admin=True)
    alice, _ = await trader(api, webhooks)
    mid = (await create_market(api, admin))["id"]
    await order(api, alice, mid, action="buy", side="yes", count=1, price="0.30")
    notes = await eventually(lambda: inbox(api, alice))
    nid = notes[0]["id"]
    await eventually(lambda: len(webhooks.at(f"ok/{alice.id}")) == 1)
    await eventually(lambda: len(smtp_sink.kinds_to(alice.email)) == 1)
    assert await eventually(lambda: _has_all(nid))

    # The activities again (as a retry would run them), and the whole workflow again.
    assert (await deliver_email([int(nid)])).sent == 0
    assert (await deliver_webhook(int(alice.id), [int(nid)])).sent == 0
    from models.notifications import DeliveryState  # noqa: F401

    await start_delivery(temporal_client, f"batch:{mid}:1")
    await start_delivery(temporal_client, f"batch:{mid}:1")
    import asyncio

    await asyncio.sleep(1.0)
    assert len(smtp_sink.kinds_to(alice.email)) == 1
    assert len(webhooks.at(f"ok/{alice.id}")) == 1
    assert await stream_kinds(alice) == ["order_accepted"]


async def _has_all(nid: str) -> bool:
    return await deliveries(nid) == {"stream": "sent", "email": "sent", "webhook": "sent"}


async def test_a_failing_webhook_blocks_neither_email_nor_the_trade_and_gets_disabled(
    api: httpx.AsyncClient, smtp_sink: SmtpSink, webhooks: WebhookReceiver
) -> None:
    admin = await register(api, admin=True)
    alice, _ = await trader(api, webhooks, fail=True)
    mid = (await create_market(api, admin))["id"]
    first = await order(api, alice, mid, action="buy", side="yes", count=1, price="0.30")
    assert first.status_code == 201  # the trade does not wait for any delivery
    await eventually(lambda: len(smtp_sink.kinds_to(alice.email)) == 1)
    # Retried with backoff (3 attempts in the tests), then counted as one failure.
    await eventually(lambda: len(webhooks.at(f"fail/{alice.id}")) == 3)
    second = await order(api, alice, mid, action="buy", side="yes", count=1, price="0.31")
    assert second.status_code == 201
    # The second failed delivery (WEBHOOK_MAX_FAILURES=2 here) disables the webhook and tells
    # the user, on the other channels.
    disabled = await eventually(lambda: _find(inbox(api, alice), "webhook_disabled"), within=30)
    assert "failed 2 deliveries" in disabled["body"]
    settings = (await api.get("/v1/me/notification-settings", headers=alice.headers)).json()
    assert settings["webhook_enabled"] is False
    await eventually(lambda: "webhook_disabled" in smtp_sink.kinds_to(alice.email))
    hits = len(webhooks.at(f"fail/{alice.id}"))
    assert hits == 6
    # Disabled: later notifications are not sent to it.
    await order(api, alice, mid, action="buy", side="yes", count=1, price="0.32")
    await eventually(lambda: len(smtp_sink.kinds_to(alice.email)) == 4)
    assert len(webhooks.at(f"fail/{alice.id}")) == hits
    # Setting the URL again re-enables it.
    again = await api.put(
        "/v1/me/notification-settings",
        json={"webhook_url": webhooks.url(f"ok/{alice.id}")},
        headers=alice.headers,
    )
    assert again.json()["webhook_enabled"] is True


async def _find(notes: object, kind: str) -> object:
    for n in await notes:  # type: ignore[misc]
        if n["kind"] == kind:
            return n
    return None


async def _none_marked_for_relay(user: Client) -> bool:
    async with connection() as conn:
        marked = await conn.execute(
            text("SELECT count(*) FROM notifications WHERE user_id = :u AND relay"),
            {"u": int(user.id)},
        )
        return marked.scalar_one() == 0


async def test_the_relay_unmarks_what_it_delivered_and_a_replanned_page_sends_nothing_twice(
    api: httpx.AsyncClient, smtp_sink: SmtpSink, webhooks: WebhookReceiver
) -> None:
    admin = await register(api, admin=True)
    alice, _ = await trader(api, webhooks)
    mid = (await create_market(api, admin))["id"]
    for price in ("0.30", "0.31", "0.32"):
        await order(api, alice, mid, action="buy", side="yes", count=1, price=price)
    await eventually(lambda: len(smtp_sink.kinds_to(alice.email)) == 3)
    await eventually(lambda: len(webhooks.at(f"ok/{alice.id}")) == 3)
    assert await eventually(lambda: _none_marked_for_relay(alice))

    # A relay that died after delivering and before unmarking finds the page again.
    async with transaction() as conn:
        await conn.execute(
            text("UPDATE notifications SET relay = true WHERE user_id = :u"), {"u": int(alice.id)}
        )
    assert await eventually(lambda: _none_marked_for_relay(alice))
    assert len(smtp_sink.kinds_to(alice.email)) == 3
    assert len(webhooks.at(f"ok/{alice.id}")) == 3
    assert await stream_kinds(alice) == ["order_accepted"] * 3


async def test_a_relay_of_an_older_type_is_replaced_and_the_current_one_left_running(
    temporal_client: TemporalClient, workers: None
) -> None:
    older = await temporal_client.start_workflow(
        "NotificationRelay",  # the type before the relay's steps changed
        id=f"relay-replaced-{uuid.uuid4().hex[:8]}",
        task_queue=f"no-worker-{uuid.uuid4().hex[:8]}",
    )
    await replace_older_relay(temporal_client, older.id)
    assert (await older.describe()).status == WorkflowExecutionStatus.TERMINATED

    current = temporal_client.get_workflow_handle(notification_relay_workflow_id())
    await replace_older_relay(temporal_client, current.id)
    assert (await current.describe()).status == WorkflowExecutionStatus.RUNNING
    await replace_older_relay(temporal_client, f"no-relay-{uuid.uuid4().hex[:8]}")  # none: fine


async def test_notifications_delivered_together_reach_each_address_as_one_email(
    api: httpx.AsyncClient, smtp_sink: SmtpSink
) -> None:
    alice, bob = await register(api), await register(api)
    source = f"test:digest:{alice.id}"  # a source no delivery workflow watches
    notes = [
        NewNotification(int(alice.id), "order_accepted", f"Order {i}", f"Resting {i}.")
        for i in range(3)
    ]
    notes.append(NewNotification(int(bob.id), "order_filled", "Filled", "Your order is filled."))
    async with transaction() as conn:
        await insert_notifications(conn, source, notes)
        rows = await conn.execute(
            text("SELECT id FROM notifications WHERE source = :s ORDER BY id"), {"s": source}
        )
        ids = [int(r[0]) for r in rows]

    assert (await deliver_email(ids)).sent == 4
    (digest,) = smtp_sink.to(alice.email)
    assert digest["X-Oddsmith-Kind"] == "digest"
    assert smtp_sink.kinds_to(alice.email) == ["order_accepted"] * 3
    assert all(f"Resting {i}." in digest.get_payload() for i in range(3))
    (single,) = smtp_sink.to(bob.email)
    assert single["X-Oddsmith-Kind"] == "order_filled"
    # Every notification is marked: a retry sends nothing again.
    assert (await deliver_email(ids)).sent == 0
    assert len(smtp_sink.to(alice.email)) == 1
    assert [await deliveries(str(i)) for i in ids] == [{"email": "sent"}] * 4
