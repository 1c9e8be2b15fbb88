"""A notification as an RFC 5322 text message, rendered directly to bytes.

The standard library's EmailMessage (the modern policy) parses and re-folds every header; it
was about 60% of the notification worker's CPU under order load. Our messages are always one
plain-text part with a handful of headers, so they are written out here: ASCII values as they
are, anything else as RFC 2047 encoded words, the body 7-bit when it is ASCII and
quoted-printable otherwise. Header values never carry a line break (header injection)."""

from __future__ import annotations

import quopri
from collections.abc import Sequence
from email.header import Header
from email.utils import formatdate
from typing import Any


def _header_value(value: str) -> str:
    flat = " ".join(str(value).split())  # no CR/LF/tabs: one header, one line
    if flat.isascii() and len(flat) < 900:
        return flat
    return Header(flat, "utf-8").encode()


def _body(text: str) -> tuple[str, bytes]:
    """(Content-Transfer-Encoding, the encoded body) with CRLF line ends."""
    lines = text.splitlines()
    if text.isascii() and all(len(line) < 990 for line in lines):
        return "7bit", "\r\n".join(lines).encode() + b"\r\n"
    encoded = quopri.encodestring(text.encode("utf-8"))
    return "quoted-printable", encoded.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def notification_text(row: Any) -> str:
    lines = [row.body, ""]
    for key, value in (row.data or {}).items():
        if value is not None:
            lines.append(f"{key}: {value}")
    return "\n".join(lines) + "\n"


def render_email(row: Any, mail_from: str) -> bytes:
    """The message for one notification row (`id`, `kind`, `title`, `body`, `data` and the
    recipient in `email` or `account_email`)."""
    return _message(
        mail_from,
        recipient(row),
        row.title,
        notification_text(row),
        f"<notification-{int(row.id)}@oddsmith>",
        [("X-Oddsmith-Kind", _header_value(row.kind))],
    )


def render_digest(rows: Sequence[Any], mail_from: str) -> bytes:
    """One message for several notifications to the same recipient, delivered together (an
    active trader gets one email per delivery page, not one per order). Each notification is
    a section of the body, in order; the headers list their ids and kinds."""
    first, last = int(rows[0].id), int(rows[-1].id)
    sections = [
        f"{row.title}\n{'-' * min(len(row.title), 72)}\n{notification_text(row)}" for row in rows
    ]
    return _message(
        mail_from,
        recipient(rows[0]),
        f"{len(rows)} updates: {rows[0].title}, and more",
        "\n".join(sections),
        f"<notifications-{first}-{last}@oddsmith>",
        [
            ("X-Oddsmith-Kind", "digest"),
            # folded, one item per line: a page's worth stays within SMTP's line limit
            ("X-Oddsmith-Kinds", ",\r\n ".join(_header_value(row.kind) for row in rows)),
            ("X-Oddsmith-Notifications", ",\r\n ".join(str(int(row.id)) for row in rows)),
        ],
    )


def _message(
    mail_from: str,
    to: str,
    subject: str,
    text: str,
    message_id: str,
    extra: list[tuple[str, str]],
) -> bytes:
    encoding, body = _body(text)
    headers = [
        ("From", _header_value(mail_from)),
        ("To", _header_value(to)),
        ("Subject", _header_value(subject)),
        ("Date", formatdate(usegmt=True)),
        ("Message-ID", message_id),
        *extra,
        ("MIME-Version", "1.0"),
        ("Content-Type", 'text/plain; charset="utf-8"'),
        ("Content-Transfer-Encoding", encoding),
    ]
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    return head.encode("ascii") + b"\r\n" + body


def recipient(row: Any) -> str:
    return str(row.email or row.account_email)
