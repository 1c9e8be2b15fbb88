"""Messages of the Notification Service: the delivery workflow's state, its activities' inputs
and outputs, and the API's bodies for notifications, invoices, settings and alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

CHANNELS = ("inbox", "stream", "email", "webhook")
Channel = Literal["inbox", "stream", "email", "webhook"]
ALERT_KINDS = ("price_above", "price_below", "price_move", "market_resolved", "closing_soon")
AlertKind = Literal["price_above", "price_below", "price_move", "market_resolved", "closing_soon"]

# ---------------------------------------------------------------- workflow and activities


class PagingDelivery(BaseModel):
    """What every delivery workflow carries: its progress in pages and how it runs channels."""

    page_size: int = 200
    pages_per_run: int = 20
    pages_run: int = 0
    delivered: int = 0
    notifications_queue: str = ""
    webhook_attempts: int = 5
    webhook_backoff_seconds: float = 1.0


class DeliveryState(PagingDelivery):
    """The delivery workflow of one source (`alert:<id>`, `payment:<id>`, ...): it pages
    through that source's notifications and continues as new every few pages."""

    source: str
    after_id: int = 0


class RelayState(PagingDelivery):
    """The notification relay (one standing workflow for every trade batch's notifications)."""

    # Under load a page is what gathered in gather_seconds; the limit only bounds a backlog.
    page_size: int = 1000
    pages_per_run: int = 100
    wait_seconds: float = 20.0
    # Once rows are waiting, gather more for this long before delivering a page: under load a
    # page then covers many batches, and the relay's Temporal work per order drops with it.
    gather_seconds: float = 0.5
    # The page delivered last, unmarked by the next step (carried over when continuing as new).
    finished: list[int] = Field(default_factory=list)


class RelayRequest(BaseModel):
    limit: int
    wait_seconds: float
    gather_seconds: float = 0.0
    finished: list[int] = Field(default_factory=list)  # the page before, to unmark


class PageRequest(BaseModel):
    source: str
    after_id: int
    limit: int


class PagePlan(BaseModel):
    """Who gets what on which channel, for one page of a source's notifications."""

    last_id: int
    count: int
    ids: list[int] = Field(default_factory=list)
    # The relay's pages carry the notification service's current webhook retry settings (a
    # standing workflow would otherwise keep the ones it started with).
    webhook_attempts: int | None = None
    webhook_backoff_seconds: float | None = None
    stream: list[int] = Field(default_factory=list)
    email: list[int] = Field(default_factory=list)
    webhook: dict[int, list[int]] = Field(default_factory=dict)  # user -> notification ids


class DeliverRequest(BaseModel):
    notification_ids: list[int]


class WebhookRequest(BaseModel):
    user_id: int
    notification_ids: list[int]


class WebhookFailure(BaseModel):
    user_id: int
    error: str
    key: str  # names the failed delivery: a retried activity counts it once


class WebhookFailureResult(BaseModel):
    disabled: bool
    notice_source: str | None = None  # the user's "webhook disabled" notice, to deliver


class DeliveryResult(BaseModel):
    sent: int = 0
    skipped: int = 0


class AlertTimerState(BaseModel):
    """A `closing_soon` alert waiting for its moment (id `alert-<id>`)."""

    alert_id: int
    notifications_queue: str = ""
    webhook_attempts: int = 5
    webhook_backoff_seconds: float = 1.0


class AlertCheck(BaseModel):
    """What a `closing_soon` check found: fired now (a source to deliver), wait until a new
    moment (the close moved), or done (deleted, or the market is no longer open)."""

    fired_source: str | None = None
    wait_until: datetime | None = None


# ---------------------------------------------------------------- API bodies


class NotificationPublic(BaseModel):
    id: str
    kind: str
    title: str
    body: str
    data: dict[str, Any]
    read: bool
    created_at: datetime


class NotificationList(BaseModel):
    items: list[NotificationPublic]
    next_cursor: str | None = None


class InvoiceLine(BaseModel):
    fill_id: str
    action: Literal["buy", "sell"]
    side: str
    count: int
    price: str
    amount: str
    fee: str


class InvoicePublic(BaseModel):
    id: str
    number: str
    market_id: str
    market_title: str
    order_id: str
    lines: list[InvoiceLine]
    subtotal: str = Field(description="Σ count × price over the lines")
    fees: str
    total: str = Field(description="cash paid (or received, see direction) including fees")
    direction: Literal["paid", "received"]
    balance_after: str = Field(description="the wallet's total cash right after the execution")
    created_at: datetime


class InvoiceList(BaseModel):
    items: list[InvoicePublic]
    next_cursor: str | None = None


class NotificationSettingsBody(BaseModel):
    email: str | None = Field(None, max_length=254, description="default: the account's email")
    webhook_url: str | None = Field(None, max_length=2000)
    channels: dict[str, list[Channel]] = Field(
        default_factory=dict,
        description="per notification kind, the channels to use; kinds not listed use all of "
        "them (inbox, stream, email, and webhook when a URL is set). The inbox always keeps a "
        "copy.",
    )


class NotificationSettingsPublic(BaseModel):
    email: str | None
    webhook_url: str | None
    webhook_secret: str | None = Field(
        None, description="the HMAC-SHA256 key of the X-Oddsmith-Signature header"
    )
    webhook_enabled: bool
    webhook_failures: int
    channels: dict[str, list[str]]


class AlertCreate(BaseModel):
    market_id: str = Field(max_length=19)
    kind: AlertKind
    threshold: str | None = Field(
        None, description='a YES price ("0.60") for price_above/below, a change for price_move'
    )
    window_seconds: int | None = Field(
        None, ge=1, le=30 * 86400, description="price_move's window; closing_soon's lead time"
    )


class AlertPublic(BaseModel):
    id: str
    market_id: str
    kind: str
    threshold: str | None
    window_seconds: int | None
    armed: bool
    fired_count: int
    last_fired_at: datetime | None
    created_at: datetime


class AlertList(BaseModel):
    items: list[AlertPublic]
    next_cursor: str | None = None
