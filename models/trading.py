"""Messages of the trading flow: API bodies and views, workflow updates, trade-engine batches."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, Field

# Letters, digits and . _ : - only: ids travel through logs, URLs and bots' own databases.
CLIENT_ORDER_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"

MarketStatus = Literal[
    "scheduled", "open", "paused", "closed", "resolving", "disputed", "resolved", "settled"
]
ORDER_ACTIONS_OPEN = ("open",)


# ---------------------------------------------------------------- views (API responses)


class FillView(BaseModel):
    id: str
    price: str
    count: int
    fee: str
    is_taker: bool
    kind: str
    created_at: datetime


class OrderView(BaseModel):
    id: str
    market_id: str
    user_id: str
    action: str
    side: str
    type: str
    time_in_force: str
    price: str
    count: int
    filled_count: int
    remaining_count: int
    status: str
    reason: str | None = None
    avg_fill_price: str | None = None
    fees: str
    fills: list[FillView] = Field(default_factory=list)
    client_order_id: str | None = None
    post_only: bool = False
    reduce_only: bool = False
    expires_at: datetime | None = None
    created_at: datetime


class MarketView(BaseModel):
    id: str
    event_id: str | None = None
    title: str
    description: str
    rules: str
    status: str
    open_time: datetime
    close_time: datetime
    tick_size: str
    taker_fee_rate: str
    maker_fee_rate: str
    amm_liquidity: str | None = None
    dispute_window_seconds: int
    last_price: str | None = None
    best_bid: str | None = None
    best_ask: str | None = None
    volume: int
    open_interest: int
    outcome: str | None = None
    settlement_value: str | None = None
    created_at: datetime


# A level is [price, count]: a decimal-dollar string and an integer.
BookLevel = list[str | int]


class BookView(BaseModel):
    market_id: str
    bids: list[BookLevel]
    asks: list[BookLevel]


class TradeView(BaseModel):
    id: str
    price: str
    count: int
    kind: str
    taker_side: str
    created_at: datetime


class CandleView(BaseModel):
    start: datetime
    open: str
    high: str
    low: str
    close: str
    volume: int


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


# ---------------------------------------------------------------- the market workflow


class MarketConfig(BaseModel):
    """What the MarketWorkflow needs to know about its market (carried across continue-as-new)."""

    market_id: str
    tick: int
    open_time: datetime
    close_time: datetime
    trade_engine_queue: str
    dispute_window_seconds: int = 3600
    # How the PayoutWorkflow pages through holders (small values in tests exercise paging).
    payout_holders_per_activity: int = 500
    payout_activities_per_run: int = 20


class RestingOrder(BaseModel):
    user_id: int
    expires_at_us: int | None = None


class MarketWorkflowState(BaseModel):
    config: MarketConfig
    status: str = "scheduled"
    batch_no: int = 0
    resting: dict[str, RestingOrder] = Field(default_factory=dict)
    # Roll over after this many history events (0: when the server suggests it).
    rollover_events: int = 0
    runs: int = 1
    # Resolution (see workflows/market.py): the proposed or final outcome and its window.
    outcome: str | None = None
    settlement_value: int | None = None
    dispute_deadline_us: int | None = None
    disputes: int = 0


class PlaceOrderRequest(BaseModel):
    """An order as the API validated it: money in micro-dollars, prices in the order's side."""

    user_id: int
    action: Literal["buy", "sell"]
    side: Literal["yes", "no"]
    count: int
    price: int | None = None
    type: Literal["limit", "market"] = "limit"
    time_in_force: Literal["gtc", "ioc", "fok", "gtd"] = "gtc"
    expires_at_us: int | None = None
    post_only: bool = False
    reduce_only: bool = False
    max_cost: int | None = None
    client_order_id: str | None = None
    self_trade_prevention: Literal["cancel_resting", "cancel_taker"] = "cancel_resting"


class CancelOrderRequest(BaseModel):
    user_id: int | None  # None: an admin or the platform cancelling
    order_id: str


class CancelAllRequest(BaseModel):
    user_id: int


class CancelAllResult(BaseModel):
    cancelled: list[OrderView]


class LifecycleRequest(BaseModel):
    reason: str = ""
    close_time: datetime | None = None


class MarketStateView(BaseModel):
    """What `temporal workflow query --type state` shows."""

    market_id: str
    status: str
    open_time: datetime
    close_time: datetime
    batch_no: int
    resting_orders: int
    pending_requests: int
    rolling_over: bool
    run: int


# ---------------------------------------------------------------- trade-engine batches


class BatchItem(BaseModel):
    """One request in a batch; `kind` says which of the optional fields is set."""

    kind: Literal["place", "cancel", "cancel_all", "expire", "status", "close"]
    order_id: str | None = None
    place: PlaceOrderRequest | None = None
    user_id: int | None = None
    status: str | None = None
    close_time: datetime | None = None


class BatchInput(BaseModel):
    market_id: str
    batch_no: int
    now_us: int
    items: list[BatchItem]


class OrderChange(BaseModel):
    order_id: str
    user_id: int
    status: str
    expires_at_us: int | None = None


class BatchItemResult(BaseModel):
    orders: list[OrderView] = Field(default_factory=list)
    error_code: str | None = None
    error_message: str | None = None


class BatchOutput(BaseModel):
    results: list[BatchItemResult]
    changes: list[OrderChange]
    status: str
    input_digest: str = ""  # the requests it answers (services/trading/batches.batch_digest)


class GroupedOrder(BaseModel):
    """One order in a `place_orders` update. `request_id` is the API's id for the request (for
    a `client_order_id`, derived from it): the order's id derives from it, as a single
    `place_order`'s derives from its update id."""

    request_id: str
    order: PlaceOrderRequest


class PlaceOrdersRequest(BaseModel):
    """Orders for one market that one API process gathered while its earlier updates to that
    market were in flight (api/order_groups.py): one Temporal update for all of them."""

    orders: list[GroupedOrder]


class PlaceOrdersResult(BaseModel):
    """Each order's answer, in request order: the order (`orders[0]`) or its error."""

    results: list[BatchItemResult]
