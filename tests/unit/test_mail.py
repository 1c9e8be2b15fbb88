"""Notification emails rendered to bytes parse back to what they say, whatever the text."""

from __future__ import annotations

from email import message_from_bytes, policy
from types import SimpleNamespace

from services.notifications.mail import render_digest, render_email


def _row(**fields: object) -> SimpleNamespace:
    base: dict[str, object] = {
        "id": 42,
        "kind": "order_filled",
        "title": "Order filled",
        "body": "Your order filled: 4 contracts filled at 0.40.",
        "data": {"market_id": "7", "price": "0.40", "absent": None},
        "email": None,
        "account_email": "alice@example.com",
    }
    base.update(fields)
    return SimpleNamespace(**base)


def test_an_ascii_notification_is_plain_seven_bit_text() -> None:
    raw = render_email(_row(), "Oddsmith <noreply@oddsmith.dev>")
    message = message_from_bytes(raw, policy=policy.default)
    assert message["From"] == "Oddsmith <noreply@oddsmith.dev>"
    assert message["To"] == "alice@example.com"
    assert message["Subject"] == "Order filled"
    assert message["Message-ID"] == "<notification-42@oddsmith>"
    assert message["X-Oddsmith-Kind"] == "order_filled"
    assert message["Content-Transfer-Encoding"] == "7bit"
    text = message.get_content()
    assert "4 contracts filled at 0.40." in text
    assert "market_id: 7" in text and "absent" not in text
    assert b"\r\n\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")


def test_unicode_text_is_encoded_and_line_breaks_cannot_inject_headers() -> None:
    row = _row(
        title="Élection 2026 — “oui”?\r\nBcc: victim@example.com",
        body="Prix: 0,40 €\nLigne deux",
        email="bob@example.com",
    )
    message = message_from_bytes(render_email(row, "noreply@oddsmith.dev"), policy=policy.default)
    assert message["Bcc"] is None
    assert message["To"] == "bob@example.com"
    assert message["Subject"] == "Élection 2026 — “oui”? Bcc: victim@example.com"
    assert message["Content-Transfer-Encoding"] == "quoted-printable"
    text = message.get_content().replace("\r\n", "\n")  # on the wire, lines end in CRLF
    assert text == "Prix: 0,40 €\nLigne deux\n\nmarket_id: 7\nprice: 0.40\n"


def test_a_digest_carries_each_notification_in_order_and_names_them_all() -> None:
    rows = [
        _row(id=40 + i, kind=kind, title=f"Update {i}", body=f"Body {i}")
        for i, kind in enumerate(["order_accepted", "order_filled", "order_cancelled"] * 20)
    ]
    raw = render_digest(rows, "noreply@oddsmith.dev")
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))  # SMTP's line limit
    message = message_from_bytes(raw, policy=policy.default)
    assert message["To"] == "alice@example.com"
    assert message["Subject"] == "60 updates: Update 0, and more"
    assert message["Message-ID"] == "<notifications-40-99@oddsmith>"
    assert message["X-Oddsmith-Kind"] == "digest"
    kinds = [k.strip() for k in str(message["X-Oddsmith-Kinds"]).split(",")]
    assert kinds == [row.kind for row in rows]
    ids = [int(i) for i in str(message["X-Oddsmith-Notifications"]).split(",")]
    assert ids == list(range(40, 100))
    text = message.get_content()
    positions = [text.index(f"Body {i}\r\n") for i in range(60)]
    assert positions == sorted(positions)
