"""The caller's notifications, invoices, notification settings and alerts (API.md "Alerts and
notifications"). Everything is filtered by the caller: another user's id is simply not found."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from activities.notifications import start_alert_timer
from api.deps import CurrentUser, TemporalClient
from api.errors import ApiError
from api.routes.pagination import Cursor, Limit, cursor_id, path_id
from core.db import connection, sql, transaction
from models.money import MoneyFormatError, format_optional, parse_money
from models.notifications import (
    AlertCreate,
    AlertList,
    AlertPublic,
    InvoiceList,
    InvoicePublic,
    NotificationList,
    NotificationPublic,
    NotificationSettingsBody,
    NotificationSettingsPublic,
)
from services.notifications import alerts as alert_service
from services.notifications import inbox
from services.notifications.preferences import Preferences, load_preferences, save_preferences

router = APIRouter(tags=["notifications"])

PDF = "application/pdf"


# ---------------------------------------------------------------- notifications


@router.get("/v1/me/notifications", response_model=NotificationList)
async def my_notifications(
    user: CurrentUser,
    unread: Annotated[bool, Query(description="only unread ones")] = False,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> NotificationList:
    """The caller's notifications, newest first."""
    async with connection() as conn:
        rows = await inbox.list_notifications(
            conn, user.id, unread=unread, limit=limit + 1, before_id=cursor_id(cursor)
        )
    page = rows[:limit]
    return NotificationList(
        items=[inbox.notification_public(r) for r in page],
        next_cursor=str(page[-1].id) if len(rows) > limit else None,
    )


@router.post("/v1/me/notifications/{notification_id}/read", response_model=NotificationPublic)
async def mark_notification_read(notification_id: str, user: CurrentUser) -> NotificationPublic:
    async with transaction() as conn:
        row = await inbox.mark_read(conn, user.id, path_id(notification_id, "notification"))
    if row is None:
        raise ApiError("not_found", "no such notification")
    return inbox.notification_public(row)


# ---------------------------------------------------------------- invoices


@router.get("/v1/me/invoices", response_model=InvoiceList)
async def my_invoices(user: CurrentUser, limit: Limit = 50, cursor: Cursor = None) -> InvoiceList:
    async with connection() as conn:
        rows = await inbox.list_invoices(
            conn, user.id, limit=limit + 1, before_id=cursor_id(cursor)
        )
    page = rows[:limit]
    return InvoiceList(
        items=[inbox.invoice_public(r) for r in page],
        next_cursor=str(page[-1].id) if len(rows) > limit else None,
    )


async def _invoice(user_id: int, invoice_id: str) -> InvoicePublic:
    # "12.pdf" arrives here when the .pdf route is not matched first; both are handled there.
    async with connection() as conn:
        row = await inbox.invoice_of(conn, user_id, path_id(invoice_id, "invoice"))
    if row is None:
        raise ApiError("not_found", "no such invoice")
    return inbox.invoice_public(row)


def _pdf_response(invoice: InvoicePublic, email: str) -> Response:
    return Response(
        inbox.invoice_pdf(invoice, email),
        media_type=PDF,
        headers={"Content-Disposition": f'inline; filename="{invoice.number}.pdf"'},
    )


@router.get(
    "/v1/me/invoices/{invoice_id}.pdf",
    response_class=Response,
    responses={200: {"content": {PDF: {}}, "description": "the invoice as a PDF"}},
)
async def my_invoice_pdf(invoice_id: str, user: CurrentUser) -> Response:
    return _pdf_response(await _invoice(user.id, invoice_id), user.email)


@router.get(
    "/v1/me/invoices/{invoice_id}",
    response_model=InvoicePublic,
    responses={200: {"content": {PDF: {}}, "description": "JSON, or a PDF with Accept: " + PDF}},
)
async def my_invoice(
    invoice_id: str, user: CurrentUser, accept: Annotated[str | None, Header()] = None
) -> InvoicePublic | Response:
    invoice = await _invoice(user.id, invoice_id)
    if accept is not None and PDF in accept and "application/json" not in accept:
        return _pdf_response(invoice, user.email)
    return invoice


# ---------------------------------------------------------------- settings


def _settings_public(prefs: Preferences) -> NotificationSettingsPublic:
    return NotificationSettingsPublic(
        email=prefs.email_to,
        webhook_url=prefs.webhook_url,
        webhook_secret=prefs.webhook_secret,
        webhook_enabled=prefs.webhook_enabled,
        webhook_failures=prefs.webhook_failures,
        channels=prefs.channels,
    )


@router.get("/v1/me/notification-settings", response_model=NotificationSettingsPublic)
async def my_notification_settings(user: CurrentUser) -> NotificationSettingsPublic:
    async with connection() as conn:
        return _settings_public(await load_preferences(conn, user.id))


@router.put("/v1/me/notification-settings", response_model=NotificationSettingsPublic)
async def put_notification_settings(
    body: NotificationSettingsBody, user: CurrentUser
) -> NotificationSettingsPublic:
    """Replace the settings. Setting a (new) webhook URL issues a new signing secret and
    re-enables a webhook that was disabled after failures."""
    if body.webhook_url is not None and not body.webhook_url.startswith(("http://", "https://")):
        raise ApiError("invalid_request", "webhook_url must be an http(s) URL")
    if body.email is not None and "@" not in body.email:
        raise ApiError("invalid_request", "email must be an email address")
    async with transaction() as conn:
        prefs = await save_preferences(
            conn,
            user.id,
            body.email,
            body.webhook_url,
            {k: list(v) for k, v in body.channels.items()},
        )
    return _settings_public(prefs)


# ---------------------------------------------------------------- alerts


def _alert_public(row: Any) -> AlertPublic:
    return AlertPublic(
        id=str(row.id),
        market_id=str(row.market_id),
        kind=row.kind,
        threshold=format_optional(row.threshold),
        window_seconds=row.window_seconds,
        armed=row.armed,
        fired_count=row.fired_count,
        last_fired_at=row.last_fired_at,
        created_at=row.created_at,
    )


def _threshold(body: AlertCreate) -> int | None:
    needs = body.kind in alert_service.PRICE_KINDS
    if not needs:
        if body.threshold is not None:
            raise ApiError("invalid_request", f"{body.kind} takes no threshold")
        return None
    if body.threshold is None:
        raise ApiError("invalid_request", f"{body.kind} needs a threshold")
    try:
        value = parse_money(body.threshold)
    except MoneyFormatError as exc:
        raise ApiError("invalid_request", f"threshold: {exc}") from exc
    if value >= 1_000_000:
        raise ApiError("invalid_request", "threshold must be below 1.00")
    return value


@router.post("/v1/me/alerts", response_model=AlertPublic, status_code=201)
async def create_alert(body: AlertCreate, user: CurrentUser, client: TemporalClient) -> AlertPublic:
    threshold = _threshold(body)
    window = body.window_seconds
    if body.kind == "price_move" and window is None:
        raise ApiError("invalid_request", "price_move needs window_seconds")
    if body.kind in ("price_above", "price_below", "market_resolved") and window is not None:
        raise ApiError("invalid_request", f"{body.kind} takes no window_seconds")
    market_id = path_id(body.market_id, "market")
    async with transaction() as conn:
        market = (
            await conn.execute(
                sql("SELECT id, status, last_price FROM markets WHERE id = :m"), {"m": market_id}
            )
        ).one_or_none()
        if market is None:
            raise ApiError("not_found", "no such market")
        if market.status in ("resolved", "settled"):
            raise ApiError("conflict", f"the market is already {market.status}")
        row = await alert_service.insert_alert(conn, user.id, market, body.kind, threshold, window)
    if body.kind == "closing_soon":
        await start_alert_timer(client, int(row.id))
    return _alert_public(row)


@router.get("/v1/me/alerts", response_model=AlertList)
async def my_alerts(user: CurrentUser, limit: Limit = 50, cursor: Cursor = None) -> AlertList:
    async with connection() as conn:
        rows = await alert_service.list_alerts(conn, user.id, limit + 1, cursor_id(cursor))
    page = rows[:limit]
    return AlertList(
        items=[_alert_public(r) for r in page],
        next_cursor=str(page[-1].id) if len(rows) > limit else None,
    )


@router.get("/v1/me/alerts/{alert_id}", response_model=AlertPublic)
async def my_alert(alert_id: str, user: CurrentUser) -> AlertPublic:
    async with connection() as conn:
        row = await alert_service.alert_of(conn, user.id, path_id(alert_id, "alert"))
    if row is None:
        raise ApiError("not_found", "no such alert")
    return _alert_public(row)


@router.delete("/v1/me/alerts/{alert_id}", status_code=204, response_class=Response)
async def delete_alert(alert_id: str, user: CurrentUser) -> Response:
    async with transaction() as conn:
        deleted = await alert_service.delete_alert(conn, user.id, path_id(alert_id, "alert"))
    if not deleted:
        raise ApiError("not_found", "no such alert")
    return Response(status_code=204)
