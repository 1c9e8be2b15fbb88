"""Reads of a user's own notifications and invoices (always filtered by the user), and the
invoice as a PDF document (fpdf2)."""

from __future__ import annotations

from typing import Any

from fpdf import FPDF
from sqlalchemy.ext.asyncio import AsyncConnection

from core.db import sql
from models.money import format_money
from models.notifications import InvoiceLine, InvoicePublic, NotificationPublic


def notification_public(row: Any) -> NotificationPublic:
    return NotificationPublic(
        id=str(row.id),
        kind=row.kind,
        title=row.title,
        body=row.body,
        data=dict(row.data or {}),
        read=bool(row.read),
        created_at=row.created_at,
    )


async def list_notifications(
    conn: AsyncConnection, user_id: int, *, unread: bool, limit: int, before_id: int | None
) -> list[Any]:
    rows = await conn.execute(
        sql(
            "SELECT id, kind, title, body, data, read, created_at FROM notifications "
            "WHERE user_id = :u AND (NOT :unread OR NOT read) "
            "AND (CAST(:before AS bigint) IS NULL OR id < :before) ORDER BY id DESC LIMIT :n"
        ),
        {"u": user_id, "unread": unread, "before": before_id, "n": limit},
    )
    return list(rows)


async def mark_read(conn: AsyncConnection, user_id: int, notification_id: int) -> Any:
    return (
        await conn.execute(
            sql(
                "UPDATE notifications SET read = true WHERE id = :id AND user_id = :u "
                "RETURNING id, kind, title, body, data, read, created_at"
            ),
            {"id": notification_id, "u": user_id},
        )
    ).one_or_none()


_INVOICE_COLUMNS = (
    "i.id, i.number, i.market_id, m.title AS market_title, i.order_id, i.lines, i.subtotal, "
    "i.fees, i.cash_change, i.balance_after, i.created_at"
)


def invoice_public(row: Any) -> InvoicePublic:
    cash = int(row.cash_change)
    return InvoicePublic(
        id=str(row.id),
        number=row.number,
        market_id=str(row.market_id),
        market_title=row.market_title,
        order_id=row.order_id,
        lines=[InvoiceLine.model_validate(line) for line in row.lines],
        subtotal=format_money(int(row.subtotal)),
        fees=format_money(int(row.fees)),
        total=format_money(abs(cash)),
        direction="received" if cash > 0 else "paid",
        balance_after=format_money(int(row.balance_after)),
        created_at=row.created_at,
    )


async def list_invoices(
    conn: AsyncConnection, user_id: int, *, limit: int, before_id: int | None
) -> list[Any]:
    rows = await conn.execute(
        sql(
            f"SELECT {_INVOICE_COLUMNS} FROM invoices i JOIN markets m ON m.id = i.market_id "
            "WHERE i.user_id = :u AND (CAST(:before AS bigint) IS NULL OR i.id < :before) "
            "ORDER BY i.id DESC LIMIT :n"
        ),
        {"u": user_id, "before": before_id, "n": limit},
    )
    return list(rows)


async def invoice_of(conn: AsyncConnection, user_id: int, invoice_id: int) -> Any:
    return (
        await conn.execute(
            sql(
                f"SELECT {_INVOICE_COLUMNS} FROM invoices i JOIN markets m ON m.id = i.market_id "
                "WHERE i.id = :id AND i.user_id = :u"
            ),
            {"id": invoice_id, "u": user_id},
        )
    ).one_or_none()


def _latin1(value: str) -> str:
    """The PDF core fonts speak Latin-1: replace anything else rather than fail."""
    return value.encode("latin-1", "replace").decode("latin-1")


def invoice_pdf(invoice: InvoicePublic, account_email: str) -> bytes:
    pdf = FPDF()
    pdf.set_title(f"Invoice {invoice.number}")
    pdf.set_author("Oddsmith")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 12, _latin1(f"Oddsmith invoice {invoice.number}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    for label, value in (
        ("Date", invoice.created_at.strftime("%Y-%m-%d %H:%M:%S UTC")),
        ("Account", account_email),
        ("Market", f"{invoice.market_title} (#{invoice.market_id})"),
        ("Order", invoice.order_id),
    ):
        pdf.cell(0, 6, _latin1(f"{label}: {value}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    widths = (22, 18, 20, 30, 30, 30)
    headers = ("Action", "Side", "Count", "Price", "Amount", "Fee")
    pdf.set_font("Helvetica", "B", 10)
    for width, header in zip(widths, headers, strict=True):
        pdf.cell(width, 7, header, border=1)
    pdf.ln()
    pdf.set_font("Helvetica", size=10)
    for line in invoice.lines:
        cells = (line.action, line.side.upper(), str(line.count), line.price, line.amount, line.fee)
        for width, value in zip(widths, cells, strict=True):
            pdf.cell(width, 7, value, border=1)
        pdf.ln()
    pdf.ln(4)
    for label, value in (
        ("Subtotal", invoice.subtotal),
        ("Fees", invoice.fees),
        (f"Total {invoice.direction}", invoice.total),
        ("Balance after", invoice.balance_after),
    ):
        pdf.cell(60, 6, label)
        pdf.cell(40, 6, f"${value}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
