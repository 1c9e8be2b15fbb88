"""Public value types of the trade engine: enums, requests, results and ledger postings.

All money is integer micro-dollars (1 USD = 1_000_000); all prices are YES prices in
micro-dollars unless a field says otherwise.  Enum values go straight into the HTTP API.

The records the engine returns by the thousand (``PlaceResult``, ``OrderState``, ``Fill``,
``Posting``) are immutable ``NamedTuple``s: the engine builds them with ``tuple.__new__`` in
one C call, several times cheaper than a dataclass ``__init__``, and a snapshot should not
change anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from typing import NamedTuple

MICRO = 1_000_000
#: user id of the market's automated market maker (the platform's market-maker account)
AMM_USER_ID = "amm"


class Action(StrEnum):
    BUY = "buy"
    SELL = "sell"


class Side(StrEnum):
    YES = "yes"
    NO = "no"


class OrderType(StrEnum):
    LIMIT = "limit"
    MARKET = "market"


class TimeInForce(StrEnum):
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"
    GTD = "gtd"


class SelfTradePrevention(StrEnum):
    CANCEL_RESTING = "cancel_resting"
    CANCEL_TAKER = "cancel_taker"


class OrderStatus(StrEnum):
    RESTING = "resting"
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REJECTED = "rejected"


class FillKind(StrEnum):
    TRANSFER = "transfer"
    MINT = "mint"
    MERGE = "merge"


class BookSide(StrEnum):
    BID = "bid"
    ASK = "ask"


class AccountKind(StrEnum):
    """Ledger accounts the engine moves money between."""

    AVAILABLE = "available"  # a user's spendable cash
    RESERVED = "reserved"  # a user's cash held for resting/in-flight orders
    ESCROW = "escrow"  # the market's escrow: $1 per open YES/NO pair
    FEES = "fees"  # the platform fee account
    MARKET_MAKER = "market_maker"  # the platform's LMSR market-maker cash


class PostingKind(StrEnum):
    HOLD = "hold"  # available -> reserved when an order is accepted
    RELEASE = "release"  # reserved -> available when a hold is no longer needed
    TRADE = "trade"  # payment between the two sides of a transfer
    MINT = "mint"  # payment into escrow when a YES/NO pair is created
    MERGE = "merge"  # payout from escrow when a YES/NO pair is destroyed
    FEE = "fee"  # fee to the platform
    SETTLEMENT = "settlement"  # payout from escrow at resolution


class CancelReason(StrEnum):
    USER = "user"  # cancel / cancel_all
    MARKET_CLOSED = "market_closed"  # cancel_everything
    EXPIRED = "expired"  # GTD expiry
    SELF_TRADE = "self_trade"  # self-trade prevention
    UNFILLED = "unfilled"  # IOC / market remainder, or FOK that could not fill whole
    MAX_COST = "max_cost"  # market order stopped by its max_cost
    NO_POSITION = "no_position"  # reduce_only / closing part lost its contracts
    INSUFFICIENT_FUNDS = "insufficient_funds"  # a hold could not be topped up


@dataclass(frozen=True, slots=True)
class AccountRef:
    """A ledger account: ``user_id`` is set for AVAILABLE and RESERVED, else None.

    ESCROW, FEES and MARKET_MAKER are the accounts of the engine's market (and platform).
    """

    kind: AccountKind
    user_id: str | None = None


class Posting(NamedTuple):
    """One double-entry movement: ``amount`` (> 0) leaves ``debit`` and enters ``credit``."""

    debit: AccountRef
    credit: AccountRef
    amount: int
    kind: PostingKind


@dataclass(slots=True)
class MarketParams:
    """Per-market settings.  Fee rates are exact rationals (Fraction or (num, den))."""

    tick: int = 10_000
    taker_fee_rate: Fraction | tuple[int, int] = Fraction(7, 100)
    maker_fee_rate: Fraction | tuple[int, int] = Fraction(0)
    amm_liquidity: int | None = None


@dataclass(slots=True)
class OrderRequest:
    """An order as the user gave it: ``price`` is in the terms of ``side`` (NO price for NO)."""

    order_id: str
    user_id: str
    action: Action
    side: Side
    count: int
    price: int | None
    type: OrderType = OrderType.LIMIT
    time_in_force: TimeInForce = TimeInForce.GTC
    expires_at: int | None = None
    post_only: bool = False
    reduce_only: bool = False
    max_cost: int | None = None
    self_trade_prevention: SelfTradePrevention = SelfTradePrevention.CANCEL_RESTING


class OrderState(NamedTuple):
    """Snapshot of an order: what persistence stores, and what ``restore_order`` takes back.

    ``yes_price`` is the YES limit on the book (for a market order, the worst price it could
    trade at).  ``filled_notional`` is sum(count x price) in the order's own side terms, so
    ``avg_fill_price`` is in those terms too (rounded down).  ``held_cash`` is the cash still
    reserved for it (price part plus worst-case fee); ``held_contracts`` the contracts it has
    committed to close.  Fee bases are sum(count x p x (1e6 - p)) of its taker / maker fills.
    """

    order_id: str
    user_id: str
    action: Action
    side: Side
    book_side: BookSide
    type: OrderType
    time_in_force: TimeInForce
    yes_price: int
    count: int  # type: ignore[assignment]  # shadows tuple.count, which nobody calls
    filled_count: int
    remaining_count: int
    filled_notional: int
    status: OrderStatus
    reason: str | None
    taker_fees: int
    maker_fees: int
    taker_fee_basis: int
    maker_fee_basis: int
    held_cash: int
    held_contracts: int
    seq: int
    expires_at: int | None = None
    post_only: bool = False
    reduce_only: bool = False
    self_trade_prevention: SelfTradePrevention = SelfTradePrevention.CANCEL_RESTING

    @property
    def fees_paid(self) -> int:
        return self.taker_fees + self.maker_fees

    @property
    def avg_fill_price(self) -> int | None:
        """Average fill price in the order's side terms, rounded down; None if unfilled."""
        return self.filled_notional // self.filled_count if self.filled_count else None

    @property
    def price(self) -> int:
        """The limit in the order's own side terms."""
        return self.yes_price if self.side is Side.YES else MICRO - self.yes_price


class Fill(NamedTuple):
    """One segment of a match: all its contracts are of one ``kind``.

    ``*_side``/``*_price`` say what each party did in its own terms: a bid that closes NO
    sells NO at 1 - yes_price, one that opens YES buys YES at yes_price; an ask that closes
    YES sells YES at yes_price, one that opens NO buys NO at 1 - yes_price.  ``yes_notional``
    is the exact YES value of the segment (count x yes_price for book fills; for AMM fills
    the rounded LMSR cost, and ``yes_price`` is then that average rounded to the nearest
    micro-dollar).  Maker of an AMM fill is ``AMM_USER_ID`` with order id None.
    """

    trade_id: str
    yes_price: int
    yes_notional: int
    count: int  # type: ignore[assignment]  # shadows tuple.count, which nobody calls
    kind: FillKind
    taker_order_id: str
    taker_user_id: str
    taker_book_side: BookSide
    taker_side: Side
    taker_price: int
    taker_opened: int
    taker_closed: int
    taker_fee: int
    maker_order_id: str | None
    maker_user_id: str
    maker_side: Side
    maker_price: int
    maker_opened: int
    maker_closed: int
    maker_fee: int


class PlaceResult(NamedTuple):
    """Everything one ``place`` changed, for one database transaction.

    ``error_code`` is set (and nothing changed) when the order was rejected for a business
    reason (insufficient_funds, insufficient_position, would_take, order_expired).
    ``touched`` holds the new state of every other order this one changed (makers filled,
    orders cancelled by self-trade prevention, orders whose holds were rebalanced).
    ``position_deltas`` / ``held_contract_deltas`` are per user, signed; ``amm_cash_delta`` is
    the change of the market-maker account.
    """

    order: OrderState
    fills: list[Fill]
    touched: list[OrderState]
    postings: list[Posting]
    position_deltas: dict[str, int]
    held_contract_deltas: dict[str, int]
    escrow_delta: int
    fee_delta: int
    amm_cash_delta: int
    best_bid: int | None
    best_ask: int | None
    last_price: int | None
    error_code: str | None = None
    error_message: str | None = None

    @property
    def accepted(self) -> bool:
        return self.error_code is None


@dataclass(slots=True)
class CancelResult:
    """A cancelled or expired order, the hold released and the new top of book."""

    order: OrderState
    postings: list[Posting]
    held_contracts_released: int
    best_bid: int | None
    best_ask: int | None
    touched: list[OrderState] = field(default_factory=list)
