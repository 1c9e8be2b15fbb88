"""Internal mutable records of the matching engine: resting orders and per-user market state.

Plain ``__slots__`` classes (not dataclasses) because they sit on the hot path.
"""

from __future__ import annotations

from .types import (
    AccountKind,
    AccountRef,
    Action,
    BookSide,
    OrderState,
    OrderStatus,
    OrderType,
    SelfTradePrevention,
    Side,
    TimeInForce,
)

#: builds a NamedTuple from one tuple in C, skipping its Python-level ``__new__``
_new = tuple.__new__
#: a bare instance, for ``new_order`` to fill in
_alloc = object.__new__
_BID = BookSide.BID
_ASK = BookSide.ASK
_RESTING = OrderStatus.RESTING


class UserBook:
    """One user's state in one market: cash, position and commitments.

    ``committed`` counts the contracts (YES if ``position`` > 0, NO if < 0) already promised
    to the user's resting orders; it never exceeds ``abs(position)``.
    """

    __slots__ = (
        "available",
        "available_ref",
        "committed",
        "holders",
        "is_amm",
        "orders",
        "position",
        "reserved",
        "reserved_ref",
        "user_id",
    )

    def __init__(self, user_id: str, is_amm: bool = False) -> None:
        self.user_id = user_id
        self.available = 0
        self.reserved = 0
        self.position = 0
        self.committed = 0
        self.orders: dict[str, Order] = {}
        #: resting orders that hold contracts (a small subset of ``orders``)
        self.holders: dict[str, Order] = {}
        self.is_amm = is_amm
        if is_amm:
            mm = AccountRef(AccountKind.MARKET_MAKER)
            self.available_ref = mm
            self.reserved_ref = mm
        else:
            self.available_ref = AccountRef(AccountKind.AVAILABLE, user_id)
            self.reserved_ref = AccountRef(AccountKind.RESERVED, user_id)


class Order:
    """A live order inside the engine (the taker while it matches, or a resting order).

    Made by ``new_order``.
    """

    __slots__ = (
        "action",
        "cash_per",
        "count",
        "expires_at",
        "fee_var",
        "filled",
        "hold_cash",
        "hold_contracts",
        "is_bid",
        "live",
        "maker_basis",
        "maker_fees",
        "notional",
        "order_id",
        "post_only",
        "reason",
        "reduce_only",
        "remaining",
        "seq",
        "side",
        "status",
        "stp",
        "taker_basis",
        "taker_fees",
        "taking",
        "tif",
        "trades",
        "type",
        "user",
        "yes_price",
    )

    order_id: str
    user: UserBook
    is_bid: bool
    yes_price: int
    cash_per: int  # cash per contract an opening fill pays: the price in its own side's terms
    fee_var: int  # worst-case P x (1 - P) per contract, for its fee hold
    action: Action
    side: Side
    type: OrderType
    tif: TimeInForce
    count: int
    remaining: int
    filled: int
    notional: int
    status: OrderStatus
    reason: str | None
    taker_fees: int
    maker_fees: int
    taker_basis: int
    maker_basis: int
    hold_cash: int
    hold_contracts: int
    seq: int
    expires_at: int | None
    post_only: bool
    reduce_only: bool
    stp: SelfTradePrevention
    live: bool  # in the book (a cancelled one may linger in its level's deque until reached)
    taking: bool  # matching as the taker: pays from available cash, not from a hold
    trades: int  # fill segments so far, numbering its trade ids

    def snapshot(self) -> OrderState:
        return _new(
            OrderState,
            (
                self.order_id,
                self.user.user_id,
                self.action,
                self.side,
                _BID if self.is_bid else _ASK,
                self.type,
                self.tif,
                self.yes_price,
                self.count,
                self.filled,
                self.remaining,
                self.notional,
                self.status,
                self.reason,
                self.taker_fees,
                self.maker_fees,
                self.taker_basis,
                self.maker_basis,
                self.hold_cash,
                self.hold_contracts,
                self.seq,
                self.expires_at,
                self.post_only,
                self.reduce_only,
                self.stp,
            ),
        )


def new_order(
    order_id: str,
    user: UserBook,
    is_bid: bool,
    yes_price: int,
    fee_var: int,
    action: Action,
    side: Side,
    type_: OrderType,
    tif: TimeInForce,
    count: int,
    seq: int,
    expires_at: int | None,
    post_only: bool,
    reduce_only: bool,
    stp: SelfTradePrevention,
) -> Order:
    """A new order with nothing filled or held yet.

    A function rather than ``Order.__init__``: CPython 3.11 calls a class through a slow
    generic path (argument tuple, ``__init__`` lookup), which cost more than a third of
    making an order; a plain function call is a fast frame push.
    """
    o = _alloc(Order)
    o.order_id = order_id
    o.user = user
    o.is_bid = is_bid
    o.yes_price = yes_price
    o.cash_per = yes_price if is_bid else 1_000_000 - yes_price
    o.fee_var = fee_var
    o.action = action
    o.side = side
    o.type = type_
    o.tif = tif
    o.count = count
    o.remaining = count
    o.filled = 0
    o.notional = 0
    o.status = _RESTING
    o.reason = None
    o.taker_fees = 0
    o.maker_fees = 0
    o.taker_basis = 0
    o.maker_basis = 0
    o.hold_cash = 0
    o.hold_contracts = 0
    o.seq = seq
    o.expires_at = expires_at
    o.post_only = post_only
    o.reduce_only = reduce_only
    o.stp = stp
    o.live = False
    o.taking = False
    o.trades = 0
    return o
