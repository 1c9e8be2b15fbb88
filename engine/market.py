"""The matching engine of one binary market: book, holds, positions, fees, LMSR, STP.

Pure and deterministic: no I/O, no clock (callers pass ``now``), no randomness, no floats.
"""

from __future__ import annotations

import heapq
from collections import deque

from .book import Order, UserBook, new_order
from .errors import (
    DUPLICATE_ORDER,
    INSUFFICIENT_FUNDS,
    INSUFFICIENT_POSITION,
    INVALID_REQUEST,
    ORDER_EXPIRED,
    ORDER_NOT_FOUND,
    WOULD_TAKE,
    EngineError,
)
from .fees import normalize_rate, worst_variance
from .lmsr import Lmsr
from .types import (
    AMM_USER_ID,
    AccountKind,
    AccountRef,
    Action,
    BookSide,
    CancelReason,
    CancelResult,
    Fill,
    FillKind,
    MarketParams,
    OrderRequest,
    OrderState,
    OrderStatus,
    OrderType,
    PlaceResult,
    Posting,
    PostingKind,
    SelfTradePrevention,
    Side,
    TimeInForce,
)

MICRO = 1_000_000
_CENT = 10_000
#: builds a NamedTuple result from one tuple in C, skipping its Python-level ``__new__``
_new = tuple.__new__
#: a bare instance, for ``place`` to fill in (see ``new_order``)
_alloc = object.__new__
_FEE_DIV = 10_000_000_000
_MAX_VAR = 250_000_000_000

_HOLD = PostingKind.HOLD
_RELEASE = PostingKind.RELEASE
_TRADE = PostingKind.TRADE
_MINT = PostingKind.MINT
_MERGE = PostingKind.MERGE
_FEE = PostingKind.FEE
_K_TRANSFER = FillKind.TRANSFER
_K_MINT = FillKind.MINT
_K_MERGE = FillKind.MERGE
_BUY = Action.BUY
_YES = Side.YES
_NO = Side.NO
_LIMIT = OrderType.LIMIT
_MARKET = OrderType.MARKET
_GTC = TimeInForce.GTC
_IOC = TimeInForce.IOC
_FOK = TimeInForce.FOK
_GTD = TimeInForce.GTD
_CANCEL_RESTING = SelfTradePrevention.CANCEL_RESTING
_CANCEL_TAKER = SelfTradePrevention.CANCEL_TAKER
_SELL = Action.SELL
_RESTING = OrderStatus.RESTING
_FILLED = OrderStatus.FILLED
_CANCELLED = OrderStatus.CANCELLED
_EXPIRED = OrderStatus.EXPIRED
_REJECTED = OrderStatus.REJECTED
_BID = BookSide.BID
_ASK = BookSide.ASK

ESCROW = AccountRef(AccountKind.ESCROW)
FEES = AccountRef(AccountKind.FEES)
MARKET_MAKER = AccountRef(AccountKind.MARKET_MAKER)


def _fee(num: int, den: int, basis: int) -> int:
    if num == 0 or basis <= 0:
        return 0
    return -(-(num * basis) // (den * _FEE_DIV)) * _CENT


def _segments(k: int, cb: int, ca: int) -> list[tuple[FillKind, int, bool, bool]]:
    """Split a match of ``k`` contracts, of which the bid closes ``cb`` and the ask ``ca``,
    into (kind, count, bid closes, ask closes) segments: merge, then transfer, then mint."""
    segs: list[tuple[FillKind, int, bool, bool]] = []
    both = cb if cb < ca else ca
    if both:
        segs.append((_K_MERGE, both, True, True))
    if cb > ca:
        segs.append((_K_TRANSFER, cb - ca, True, False))
    elif ca > cb:
        segs.append((_K_TRANSFER, ca - cb, False, True))
    hi = cb if cb > ca else ca
    if k > hi:
        segs.append((_K_MINT, k - hi, False, False))
    return segs


def _by_seq(o: Order) -> int:
    return o.seq


def _bad(message: str) -> EngineError:
    return EngineError(INVALID_REQUEST, message)


class _Ctx:
    """What one ``place`` changed; becomes a result.  Made by ``place``."""

    __slots__ = ("fills", "own_topups", "postings", "start", "topups", "touched")

    postings: list[Posting]
    fills: list[Fill]
    #: orders this one changed, by id
    touched: dict[str, Order]
    #: user id -> (user, position, committed) before the order, for the result's deltas
    start: dict[str, tuple[UserBook, int, int]]
    #: (order, contracts) whose held contracts a sibling order used: they need cash instead;
    #: the taker's own siblings apart (``own_topups``), as they wait until the taker is done
    topups: list[tuple[Order, int]]
    own_topups: list[tuple[Order, int]]


class MarketEngine:
    """The order book and matching engine of one binary market.

    The caller tells the engine each user's available cash (``set_cash``) and restores resting
    orders and positions after a restart (``restore_order``, ``restore_position``); the engine
    then tracks holds, payments, fees and positions itself, and every call returns everything
    it changed (fills, order states, balanced ledger postings) for one database transaction.

    Money flows, as postings (``debit`` -> ``credit``):

    - a resting order holds its cash: available -> reserved (``hold``); a cancel, expiry or
      cheaper fill gives back what is no longer needed: reserved -> available (``release``);
    - a taker pays straight from available, within the budget checked on arrival (price part
      plus worst-case fee), and only what rests of it is then held;
    - mint: both payers -> escrow; merge: escrow -> both sellers' available; transfer: the
      opener -> the closer's available (``trade``); fees: payer -> fees;
    - the AMM pays from and is paid into the market-maker account.

    Rebuilding after a restart::

        eng = MarketEngine(market_id, params)
        for user_id, position in positions:        # the AMM too, as AMM_USER_ID
            eng.restore_position(user_id, position)
        for state in resting_order_states:         # OrderState rows, any order
            eng.restore_order(state)
        eng.restore_stats(last_price, volume, fees_collected, seq)
        eng.set_cash(user_id, available)           # before each batch, per user
    """

    __slots__ = (
        "_amm",
        "_amm_user",
        "_ask_qty",
        "_ask_var",
        "_asks",
        "_best_ask",
        "_best_bid",
        "_bid_qty",
        "_bid_var",
        "_bids",
        "_expiries",
        "_maker_den",
        "_maker_div",
        "_maker_num",
        "_n",
        "_orders",
        "_seq",
        "_taker_den",
        "_taker_div",
        "_taker_num",
        "_users",
        "escrow",
        "fees_collected",
        "last_price",
        "market_id",
        "open_interest",
        "params",
        "tick",
        "volume",
    )

    def __init__(self, market_id: str, params: MarketParams | None = None) -> None:
        params = params if params is not None else MarketParams()
        tick = params.tick
        if isinstance(tick, bool) or not isinstance(tick, int) or tick <= 0 or MICRO % tick:
            raise _bad("tick must be a positive int dividing 1_000_000")
        if tick >= MICRO // 2:
            raise _bad("tick too large")
        self.market_id = market_id
        self.params = params
        self.tick = tick
        self._n = n = MICRO // tick
        self._taker_num, self._taker_den = normalize_rate(params.taker_fee_rate)
        self._maker_num, self._maker_den = normalize_rate(params.maker_fee_rate)
        # fee divisors, precomputed for the per-fill fee step (see ``_fee``)
        self._taker_div = self._taker_den * _FEE_DIV
        self._maker_div = self._maker_den * _FEE_DIV
        # per price level, the largest P x (1 - P) a bid / an ask resting there can trade at
        # (its worst-case fee basis per contract, see ``worst_variance``)
        self._bid_var = [worst_variance(i * tick, True) for i in range(n + 1)]
        self._ask_var = [worst_variance(i * tick, False) for i in range(n + 1)]
        # books[0] = bids, books[1] = asks, each a list indexed by price level (price // tick)
        self._bids: list[deque[Order] | None] = [None] * (n + 1)
        self._asks: list[deque[Order] | None] = [None] * (n + 1)
        self._bid_qty = [0] * (n + 1)
        self._ask_qty = [0] * (n + 1)
        self._best_bid = 0  # level index; 0 = no bids
        self._best_ask = n  # level index; n = no asks
        self._orders: dict[str, Order] = {}
        self._users: dict[str, UserBook] = {}
        self._expiries: list[tuple[int, int, str]] = []
        self._seq = 0
        self._amm: Lmsr | None = None
        self._amm_user = UserBook(AMM_USER_ID, is_amm=True)
        if params.amm_liquidity is not None:
            if params.amm_liquidity <= 0:
                raise _bad("amm_liquidity must be positive")
            self._amm = Lmsr(params.amm_liquidity)
            self._users[AMM_USER_ID] = self._amm_user
        self.escrow = 0
        self.open_interest = 0
        self.fees_collected = 0
        self.volume = 0
        self.last_price: int | None = None

    # ------------------------------------------------------------------ state in

    def set_cash(self, user_id: str, available: int) -> None:
        """Set a user's available (unreserved) cash, as the ledger has it before a batch."""
        if isinstance(available, bool) or not isinstance(available, int):
            raise _bad("available cash must be an int")
        if user_id == AMM_USER_ID:
            self._amm_user.available = available
            return
        if available < 0:
            raise _bad("available cash cannot be negative")
        self._user(user_id).available = available

    def restore_position(self, user_id: str, position: int) -> None:
        """Set a user's net position (+YES / -NO) from persisted state (``"amm"`` for the AMM)."""
        if isinstance(position, bool) or not isinstance(position, int):
            raise _bad("position must be an int")
        user = self._amm_user if user_id == AMM_USER_ID else self._user(user_id)
        if abs(position) < user.committed:
            raise _bad("position smaller than contracts held by resting orders")
        old = user.position
        self.open_interest += max(position, 0) - max(old, 0)
        user.position = position
        self.escrow = self.open_interest * MICRO

    def restore_stats(
        self, last_price: int | None, volume: int, fees_collected: int, seq: int = 0
    ) -> None:
        """Restore the market's running statistics after a restart.

        ``seq`` is the last priority sequence number handed out (``MarketEngine.seq``); new
        orders get numbers above it and above every restored order's.
        """
        self.last_price = last_price
        self.volume = volume
        self.fees_collected = fees_collected
        if seq > self._seq:
            self._seq = seq

    @property
    def seq(self) -> int:
        """The last priority sequence number handed out (persist it with the market)."""
        return self._seq

    def restore_order(self, state: OrderState) -> None:
        """Rebuild a resting order from the ``OrderState`` persisted for it.

        Priority follows ``state.seq``.  Its ``held_cash`` counts as the user's reserved cash
        (not taken from available) and ``held_contracts`` as committed contracts, so restore
        positions first.  New orders get sequence numbers after the largest restored one.
        """
        if state.status is not OrderStatus.RESTING or state.remaining_count <= 0:
            raise _bad("only resting orders with a remaining count can be restored")
        if state.order_id in self._orders:
            raise EngineError(DUPLICATE_ORDER, f"order {state.order_id} already in the book")
        p = state.yes_price
        if not (0 < p < MICRO) or p % self.tick:
            raise _bad("restored order price off the book")
        if state.user_id == AMM_USER_ID:
            raise _bad("the AMM never rests orders")
        user = self._user(state.user_id)
        is_bid = state.book_side is BookSide.BID
        if state.held_contracts:
            holds_side = -user.position if is_bid else user.position
            if holds_side - user.committed < state.held_contracts:
                raise _bad("restored order holds contracts the user does not have")
        o = new_order(
            state.order_id,
            user,
            is_bid,
            p,
            worst_variance(p, is_bid),
            state.action,
            state.side,
            state.type,
            state.time_in_force,
            state.count,
            state.seq,
            state.expires_at,
            state.post_only,
            state.reduce_only,
            state.self_trade_prevention,
        )
        o.remaining = state.remaining_count
        o.filled = state.filled_count
        o.notional = state.filled_notional
        o.taker_fees = state.taker_fees
        o.maker_fees = state.maker_fees
        o.taker_basis = state.taker_fee_basis
        o.maker_basis = state.maker_fee_basis
        o.hold_cash = state.held_cash
        o.hold_contracts = state.held_contracts
        user.reserved += o.hold_cash
        user.committed += o.hold_contracts
        if state.seq >= self._seq:
            self._seq = state.seq
        self._rest(o, sort=True)
        if o.hold_contracts:
            user.holders = dict(sorted(user.holders.items(), key=lambda kv: kv[1].seq))

    # ------------------------------------------------------------------ queries

    def top_of_book(self) -> tuple[int | None, int | None]:
        """(best bid, best ask) YES prices, None where that side is empty."""
        bb = self._best_bid
        ba = self._best_ask
        return (bb * self.tick if bb else None, ba * self.tick if ba < self._n else None)

    def depth(self, levels: int = 10) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Aggregated (yes_price, count) levels, best first, up to ``levels`` per side."""
        tick = self.tick
        bids: list[tuple[int, int]] = []
        i = self._best_bid
        qty = self._bid_qty
        while i > 0 and len(bids) < levels:
            if qty[i]:
                bids.append((i * tick, qty[i]))
            i -= 1
        asks: list[tuple[int, int]] = []
        i = self._best_ask
        qty = self._ask_qty
        while i < self._n and len(asks) < levels:
            if qty[i]:
                asks.append((i * tick, qty[i]))
            i += 1
        return bids, asks

    @property
    def amm_cash(self) -> int:
        """Cash of the market-maker account as tracked by this engine (may be negative)."""
        return self._amm_user.available

    def amm_max_loss(self) -> int:
        """b ln 2 rounded up, in micro-dollars (0 without AMM)."""
        if self._amm is None:
            return 0
        return -int(-self._amm.max_loss() // 1)

    def order(self, order_id: str) -> OrderState:
        """State of a resting order; ``order_not_found`` otherwise."""
        o = self._orders.get(order_id)
        if o is None:
            raise EngineError(ORDER_NOT_FOUND, f"order {order_id} not found")
        return o.snapshot()

    def resting_orders(self) -> list[OrderState]:
        """Every resting order, in time priority."""
        return [o.snapshot() for o in sorted(self._orders.values(), key=_by_seq)]

    def user(self, user_id: str) -> tuple[int, int, int, int]:
        """(available, reserved, position, held_contracts) of a user in this market."""
        u = self._amm_user if user_id == AMM_USER_ID else self._users.get(user_id)
        if u is None:
            return (0, 0, 0, 0)
        return (u.available, u.reserved, u.position, u.committed)

    def users(self) -> list[str]:
        """Ids of every user the engine knows in this market (the AMM included if enabled)."""
        return list(self._users)

    # ------------------------------------------------------------------ placing

    def place(self, req: OrderRequest, now: int) -> PlaceResult:
        """Accept, match and (maybe) rest one order.

        Malformed requests raise ``EngineError('invalid_request' | 'duplicate_order')`` and
        change nothing.  Business rejections (insufficient_funds, insufficient_position,
        would_take, order_expired) return a result with status ``rejected`` and ``error_code``
        set, also changing nothing.  A FOK that cannot fill whole returns status ``cancelled``
        and changes nothing.
        """
        action = req.action
        side = req.side
        count = req.count
        price = req.price
        otype = req.type
        tif = req.time_in_force
        stp = req.self_trade_prevention
        # ---- validation (cheap checks first; all before any change)
        if not (
            (action is _BUY or action is _SELL)
            and (side is _YES or side is _NO)
            and (otype is _LIMIT or otype is _MARKET)
            and (tif is _GTC or tif is _IOC or tif is _GTD or tif is _FOK)
            and (stp is _CANCEL_RESTING or stp is _CANCEL_TAKER)
        ):
            # plain strings ("buy") are accepted too; anything else is invalid
            try:
                action, side, otype = Action(action), Side(side), OrderType(otype)
                tif, stp = TimeInForce(tif), SelfTradePrevention(stp)
            except ValueError:
                raise _bad(
                    "bad action, side, type, time_in_force or self_trade_prevention"
                ) from None
        if count.__class__ is not int or count <= 0:
            raise _bad("count must be a positive int")
        order_id = req.order_id
        user_id = req.user_id
        if not order_id or order_id.__class__ is not str:
            raise _bad("order_id required")
        if not user_id or user_id.__class__ is not str or user_id == AMM_USER_ID:
            raise _bad("bad user_id")
        if order_id in self._orders:
            raise EngineError(DUPLICATE_ORDER, f"order {order_id} is already resting")
        tick = self.tick
        if price is not None:
            if price.__class__ is not int or not 0 < price < MICRO or price % tick:
                raise _bad(f"price must be an int in (0, 1_000_000) on tick {tick}")
        is_bid = (action is _BUY) == (side is _YES)
        post_only = req.post_only
        if otype is _LIMIT:
            if price is None:
                raise _bad("limit order needs a price")
            yes_limit = price if side is _YES else MICRO - price
        else:
            if price is None:
                yes_limit = MICRO - tick if is_bid else tick
            else:
                yes_limit = price if side is _YES else MICRO - price
            if tif is _GTC:
                tif = _IOC
            elif tif is not _IOC and tif is not _FOK:
                raise _bad("a market order is IOC or FOK")
            if post_only:
                raise _bad("a market order cannot be post_only")
        expires_at = req.expires_at
        max_cost = req.max_cost
        # a plain GTC order (nearly all of them) has none of the terms checked here
        if tif is not _GTC or expires_at is not None or max_cost is not None or post_only:
            if tif is _GTD:
                if expires_at is None or expires_at.__class__ is not int:
                    raise _bad("GTD order needs an int expires_at")
            elif expires_at is not None:
                raise _bad("expires_at is only for GTD orders")
            if post_only and (tif is _IOC or tif is _FOK):
                raise _bad("post_only orders must be able to rest")
            if max_cost is not None:
                if max_cost.__class__ is not int or max_cost <= 0:
                    raise _bad("max_cost must be a positive int")
                if action is not _BUY:
                    raise _bad("max_cost applies to buy orders")
                if tif is not _IOC:
                    raise _bad("max_cost is for IOC (market) orders")
            if tif is _GTD and expires_at <= now:  # type: ignore[operator]
                return self._rejected(
                    req,
                    (action, side, otype, tif, stp),
                    is_bid,
                    yes_limit,
                    ORDER_EXPIRED,
                    "order already expired",
                )

        # ---- admission
        user = self._users.get(user_id)
        if user is None:
            user = self._user(user_id)
        pos = user.position
        free = (-pos if is_bid else pos) - user.committed
        if free < 0:
            free = 0
        reduce_only = req.reduce_only
        if reduce_only:
            if free == 0:
                return self._rejected(
                    req,
                    (action, side, otype, tif, stp),
                    is_bid,
                    yes_limit,
                    INSUFFICIENT_POSITION,
                    "no position to reduce",
                )
            if count > free:
                count = free
        lvl = yes_limit // tick
        if is_bid:
            crosses = self._best_ask <= lvl  # an empty ask side has _best_ask == n, above lvl
            fee_var = self._bid_var[lvl]
            cash_per = yes_limit
        else:
            crosses = self._best_bid >= lvl  # an empty bid side has _best_bid == 0, below lvl
            fee_var = self._ask_var[lvl]
            cash_per = MICRO - yes_limit
        if not crosses and self._amm is not None:
            crosses = self._amm_quote(is_bid, yes_limit) > 0
        if post_only and crosses:
            return self._rejected(
                req,
                (action, side, otype, tif, stp),
                is_bid,
                yes_limit,
                WOULD_TAKE,
                "post_only order would take",
            )
        if tif is _IOC or tif is _FOK:
            if (
                tif is _FOK
                and crosses
                and self._fillable(user, is_bid, yes_limit, count, stp) < count
            ):
                crosses = False
            if not crosses:
                o = new_order(
                    order_id,
                    user,
                    is_bid,
                    yes_limit,
                    0,
                    action,
                    side,
                    otype,
                    tif,
                    count,
                    0,
                    expires_at,
                    post_only,
                    reduce_only,
                    stp,
                )
                o.status = _CANCELLED
                o.reason = CancelReason.UNFILLED
                return self._result(o, None, [])
        hold_contracts = count if count < free else free
        cash = (count - hold_contracts) * cash_per
        if max_cost is not None and cash > max_cost:
            cash = max_cost
        # worst-case fee: as a taker for the whole count, and as a maker for what may rest
        if crosses:
            num = self._taker_num
            hold = cash - (-(num * count * fee_var) // self._taker_div) * _CENT if num else cash
            num = self._maker_num
            if num and (tif is _GTC or tif is _GTD):
                hold -= (-(num * count * fee_var) // self._maker_div) * _CENT
        else:
            num = self._maker_num
            hold = cash - (-(num * count * fee_var) // self._maker_div) * _CENT if num else cash
        available = user.available
        if hold > available:
            return self._rejected(
                req,
                (action, side, otype, tif, stp),
                is_bid,
                yes_limit,
                INSUFFICIENT_FUNDS,
                f"order needs {hold} micro-dollars, {available} available",
            )

        # ---- commit: from here on the order is accepted.  The order is made inline (what
        # ``new_order`` does, with its real holds): this is the hottest path of the engine.
        self._seq = seq = self._seq + 1
        o = _alloc(Order)
        o.order_id = order_id
        o.user = user
        o.is_bid = is_bid
        o.yes_price = yes_limit
        o.cash_per = cash_per
        o.fee_var = fee_var
        o.action = action
        o.side = side
        o.type = otype
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
        o.hold_cash = hold
        o.hold_contracts = hold_contracts
        o.seq = seq
        o.expires_at = expires_at
        o.post_only = post_only
        o.reduce_only = reduce_only
        o.stp = stp
        o.taking = False
        o.trades = 0
        if not crosses:
            o.live = True
            postings: list[Posting]
            if hold:
                user.available = available - hold
                user.reserved += hold
                postings = [_new(Posting, (user.available_ref, user.reserved_ref, hold, _HOLD))]
            else:
                postings = []
            # rest it (inlined _rest: this is the most common path of all)
            if is_bid:
                books = self._bids
                self._bid_qty[lvl] += count
                if lvl > self._best_bid:
                    self._best_bid = lvl
                book_side = _BID
            else:
                books = self._asks
                self._ask_qty[lvl] += count
                if lvl < self._best_ask:
                    self._best_ask = lvl
                book_side = _ASK
            dq = books[lvl]
            if dq is None:
                dq = books[lvl] = deque()
            dq.append(o)
            self._orders[order_id] = o
            user.orders[order_id] = o
            if hold_contracts:
                user.committed += hold_contracts
                user.holders[order_id] = o
                held_d = {user_id: hold_contracts}
            else:
                held_d = {}
            if expires_at is not None:
                heapq.heappush(self._expiries, (expires_at, seq, order_id))
            bb = self._best_bid
            ba = self._best_ask
            # the order's snapshot, from what is at hand (``Order.snapshot`` field by field)
            state = _new(
                OrderState,
                (
                    order_id, user_id, action, side, book_side, otype, tif, yes_limit, count,
                    0, count, 0, _RESTING, None, 0, 0, 0, 0, hold, hold_contracts, seq,
                    expires_at, post_only, reduce_only, stp,
                ),
            )  # fmt: skip
            return _new(
                PlaceResult,
                (
                    state, [], [], postings, {}, held_d, 0, 0, 0,
                    bb * tick if bb else None, ba * tick if ba < self._n else None,
                    self.last_price, None, None,
                ),
            )  # fmt: skip
        o.live = False

        # ---- matching.  While it takes, the order pays straight from the user's available
        # cash, within the budget ``hold_cash`` checked above; only what rests is then held.
        ctx = _alloc(_Ctx)  # filled in here: calling the class is the slow generic path
        ctx.postings = postings = []
        ctx.fills = []
        ctx.touched = {}
        ctx.start = {user_id: (user, user.position, user.committed)}
        ctx.topups = []
        ctx.own_topups = []
        user.committed += hold_contracts
        escrow0 = self.escrow
        fees0 = self.fees_collected
        amm0 = self._amm_user.available
        o.taking = True
        self._match(o, max_cost, ctx)
        o.taking = False
        if o.remaining and o.status is _RESTING and (tif is _GTC or tif is _GTD):
            need = self._required_hold(o, as_maker=True)
            o.hold_cash = need
            if need:
                user.available -= need
                user.reserved += need
                postings.append(_new(Posting, (user.available_ref, user.reserved_ref, need, _HOLD)))
            self._rest(o, sort=False)
        else:
            if o.status is _RESTING:
                if o.remaining == 0:
                    o.status = _FILLED
                else:
                    o.status = _CANCELLED
                    if o.reason is None:
                        o.reason = CancelReason.UNFILLED
            o.hold_cash = 0
            if o.hold_contracts:
                user.committed -= o.hold_contracts
                o.hold_contracts = 0
            if o.status is _CANCELLED:
                o.remaining = 0
        # the taker's own orders wait until the taker's hold has been released
        if ctx.own_topups:
            self._process_topups(ctx, ctx.own_topups)
        if ctx.topups:
            self._process_topups(ctx, ctx.topups)
        return self._result(o, ctx, postings, escrow0, fees0, amm0)

    # ------------------------------------------------------------------ cancelling

    def cancel(self, order_id: str, user_id: str | None) -> CancelResult:
        """Cancel a resting order (``user_id`` None = any owner, e.g. an admin)."""
        o = self._orders.get(order_id)
        if o is None or (user_id is not None and o.user.user_id != user_id):
            raise EngineError(ORDER_NOT_FOUND, f"order {order_id} not found")
        return self._cancel(o, _CANCELLED, CancelReason.USER)

    def cancel_all(self, user_id: str) -> list[CancelResult]:
        """Cancel every resting order of a user in this market, oldest first."""
        user = self._users.get(user_id)
        if user is None:
            return []
        orders = sorted(user.orders.values(), key=_by_seq)
        return [self._cancel(o, _CANCELLED, CancelReason.USER) for o in orders]

    def cancel_everything(self) -> list[CancelResult]:
        """Cancel every resting order (market close), in time priority."""
        orders = sorted(self._orders.values(), key=_by_seq)
        return [self._cancel(o, _CANCELLED, CancelReason.MARKET_CLOSED) for o in orders]

    def expire(self, now: int) -> list[CancelResult]:
        """Remove GTD orders with ``expires_at <= now``; their status becomes ``expired``."""
        out: list[CancelResult] = []
        heap = self._expiries
        while heap and heap[0][0] <= now:
            _, seq, oid = heapq.heappop(heap)
            o = self._orders.get(oid)
            if o is not None and o.seq == seq:
                out.append(self._cancel(o, _EXPIRED, CancelReason.EXPIRED))
        return out

    # ------------------------------------------------------------------ internals

    def _user(self, user_id: str) -> UserBook:
        u = self._users.get(user_id)
        if u is None:
            if user_id == AMM_USER_ID:
                return self._amm_user
            u = UserBook(user_id)
            self._users[user_id] = u
        return u

    def _rejected(
        self,
        req: OrderRequest,
        norm: tuple[Action, Side, OrderType, TimeInForce, SelfTradePrevention],
        is_bid: bool,
        yes_limit: int,
        code: str,
        message: str,
    ) -> PlaceResult:
        action, side, otype, tif, stp = norm
        state = OrderState(
            req.order_id, req.user_id, action, side, _BID if is_bid else _ASK, otype, tif,
            yes_limit, req.count, 0, 0, 0, _REJECTED, code, 0, 0, 0, 0, 0, 0, 0,
            req.expires_at, req.post_only, req.reduce_only, stp,
        )  # fmt: skip
        bb, ba = self.top_of_book()
        return PlaceResult(
            state, [], [], [], {}, {}, 0, 0, 0, bb, ba, self.last_price, code, message
        )

    def _result(
        self,
        o: Order,
        ctx: _Ctx | None,
        postings: list[Posting],
        escrow0: int = 0,
        fees0: int = 0,
        amm0: int = 0,
    ) -> PlaceResult:
        bb = self._best_bid
        ba = self._best_ask
        tick = self.tick
        if ctx is None:
            return PlaceResult(
                o.snapshot(),
                [],
                [],
                postings,
                {},
                {},
                0,
                0,
                0,
                bb * tick if bb else None,
                ba * tick if ba < self._n else None,
                self.last_price,
            )
        pos_d: dict[str, int] = {}
        held_d: dict[str, int] = {}
        for uid, (u, pos0, com0) in ctx.start.items():
            if u.position != pos0:
                pos_d[uid] = u.position - pos0
            if u.committed != com0:
                held_d[uid] = u.committed - com0
        # ``Order.snapshot`` inline: a method call per touched order cost a tenth of this
        touched = [
            _new(
                OrderState,
                (
                    t.order_id, t.user.user_id, t.action, t.side, _BID if t.is_bid else _ASK,
                    t.type, t.tif, t.yes_price, t.count, t.filled, t.remaining, t.notional,
                    t.status, t.reason, t.taker_fees, t.maker_fees, t.taker_basis,
                    t.maker_basis, t.hold_cash, t.hold_contracts, t.seq, t.expires_at,
                    t.post_only, t.reduce_only, t.stp,
                ),
            )
            for t in ctx.touched.values()
            if t is not o
        ]  # fmt: skip
        return _new(
            PlaceResult,
            (
                o.snapshot(),
                ctx.fills,
                touched,
                postings,
                pos_d,
                held_d,
                self.escrow - escrow0,
                self.fees_collected - fees0,
                self._amm_user.available - amm0,
                bb * tick if bb else None,
                ba * tick if ba < self._n else None,
                self.last_price,
                None,
                None,
            ),
        )

    def _rest(self, o: Order, sort: bool) -> None:
        """Put an order in the book at the back of its level's queue."""
        lvl = o.yes_price // self.tick
        if o.is_bid:
            books = self._bids
            self._bid_qty[lvl] += o.remaining
            if lvl > self._best_bid:
                self._best_bid = lvl
        else:
            books = self._asks
            self._ask_qty[lvl] += o.remaining
            if lvl < self._best_ask:
                self._best_ask = lvl
        dq = books[lvl]
        if dq is None:
            dq = books[lvl] = deque()
        if sort and dq and dq[-1].seq > o.seq:
            items = sorted([*dq, o], key=lambda x: x.seq)
            dq.clear()
            dq.extend(items)
        else:
            dq.append(o)
        o.live = True
        o.status = _RESTING
        self._orders[o.order_id] = o
        o.user.orders[o.order_id] = o
        if o.hold_contracts:
            o.user.holders[o.order_id] = o
        if o.expires_at is not None:
            heapq.heappush(self._expiries, (o.expires_at, o.seq, o.order_id))

    def _unlink(self, o: Order) -> None:
        """Take a live order out of the book (its deque entry is dropped lazily)."""
        o.live = False
        del self._orders[o.order_id]
        del o.user.orders[o.order_id]
        lvl = o.yes_price // self.tick
        if o.is_bid:
            qty = self._bid_qty
            qty[lvl] -= o.remaining
            if qty[lvl] == 0:
                dq = self._bids[lvl]
                if dq is not None:
                    dq.clear()
                if lvl == self._best_bid:
                    i = lvl - 1
                    while i > 0 and not qty[i]:
                        i -= 1
                    self._best_bid = i
        else:
            qty = self._ask_qty
            qty[lvl] -= o.remaining
            if qty[lvl] == 0:
                dq = self._asks[lvl]
                if dq is not None:
                    dq.clear()
                if lvl == self._best_ask:
                    i = lvl + 1
                    n = self._n
                    while i < n and not qty[i]:
                        i += 1
                    self._best_ask = i

    def _release_all(self, o: Order, postings: list[Posting]) -> None:
        user = o.user
        if o.hold_cash:
            user.reserved -= o.hold_cash
            user.available += o.hold_cash
            postings.append(
                _new(Posting, (user.reserved_ref, user.available_ref, o.hold_cash, _RELEASE))
            )
            o.hold_cash = 0
        if o.hold_contracts:
            user.committed -= o.hold_contracts
            o.hold_contracts = 0
            user.holders.pop(o.order_id, None)

    def _cancel(self, o: Order, status: OrderStatus, reason: str) -> CancelResult:
        postings: list[Posting] = []
        contracts = o.hold_contracts
        self._unlink(o)
        self._release_all(o, postings)
        o.status = status
        o.reason = reason
        o.remaining = 0
        bb, ba = self.top_of_book()
        return CancelResult(o.snapshot(), postings, contracts, bb, ba)

    def _required_hold(self, o: Order, as_maker: bool) -> int:
        """Cash an order needs for its remaining count: price part + worst-case fee."""
        r = o.remaining
        cash = (r - o.hold_contracts) * o.cash_per
        if as_maker:
            num = self._maker_num
            if num:
                den = self._maker_den
                basis = o.maker_basis
                cash += _fee(num, den, basis + r * o.fee_var) - _fee(num, den, basis)
        return cash

    def _rebalance(self, o: Order, ctx: _Ctx, as_maker: bool) -> None:
        """Release what an order's cash hold no longer needs."""
        need = self._required_hold(o, as_maker)
        extra = o.hold_cash - need
        if extra > 0:
            user = o.user
            o.hold_cash = need
            user.reserved -= extra
            user.available += extra
            ctx.postings.append(
                _new(Posting, (user.reserved_ref, user.available_ref, extra, _RELEASE))
            )

    def _cancel_in_match(self, o: Order, ctx: _Ctx, reason: str) -> None:
        self._note_user(o.user, ctx)
        self._unlink(o)
        self._release_all(o, ctx.postings)
        o.status = _CANCELLED
        o.reason = reason
        o.remaining = 0
        ctx.touched[o.order_id] = o

    def _note_user(self, u: UserBook, ctx: _Ctx) -> None:
        if u.user_id not in ctx.start:
            ctx.start[u.user_id] = (u, u.position, u.committed)

    # ---- AMM

    def _amm_quote(self, is_bid: bool, yes_limit: int) -> int:
        """1 if the AMM would sell the taker its first contract within ``yes_limit``, else 0."""
        amm = self._amm
        assert amm is not None
        x = -self._amm_user.position
        if is_bid:
            return 1 if amm.cost(x, 1) <= yes_limit else 0
        return 1 if amm.cost(-x, 1) <= MICRO - yes_limit else 0

    def _fillable(
        self, user: UserBook, is_bid: bool, yes_limit: int, count: int, stp: SelfTradePrevention
    ) -> int:
        """How many contracts a taker could fill right now within its limit (for FOK)."""
        total = 0
        tick = self.tick
        stop_price: int | None = None
        if is_bid:
            i, end, step, books = self._best_ask, yes_limit // tick + 1, 1, self._asks
            ok = i < end
        else:
            i, end, step, books = self._best_bid, -(-yes_limit // tick) - 1, -1, self._bids
            ok = i > end
        while ok and total < count and stop_price is None:
            dq = books[i]
            if dq:
                for m in dq:
                    if not m.live:
                        continue
                    if m.user is user:
                        if stp is _CANCEL_RESTING:
                            continue
                        stop_price = i * tick
                        break
                    total += m.remaining
            i += step
            ok = i < end if is_bid else i > end
        amm = self._amm
        if amm is not None and total < count:
            x = -self._amm_user.position
            if is_bid:
                if stop_price is not None:
                    target, strict = stop_price, True
                else:
                    target, strict = yes_limit, False
                total += amm.run_length(x, target, strict, count - total)
            else:
                if stop_price is not None:
                    target, strict = MICRO - stop_price, True
                else:
                    target, strict = MICRO - yes_limit, False
                total += amm.run_length(-x, target, strict, count - total)
        return total

    # ---- matching

    def _match(self, o: Order, max_cost: int | None, ctx: _Ctx) -> None:
        """Fill a taker against the book (and the AMM) until its limit, count or budget.

        A book fill is written out here rather than through ``_trade`` (which serves the AMM):
        the same money and contract moves in the same order, for the case that fills nearly
        every order, where both sides are orders, the taker pays from available cash and the
        maker from its hold.
        """
        tu = o.user  # noted in ctx.start by place()
        tick = self.tick
        n = self._n
        limit_lvl = o.yes_price // tick
        is_bid = o.is_bid
        amm = self._amm
        own_yes = o.side is _YES
        spent = 0
        if is_bid:
            books = self._asks
            qty = self._ask_qty
            t_book = _BID
        else:
            books = self._bids
            qty = self._bid_qty
            t_book = _ASK
        orders = self._orders
        start = ctx.start
        touched = ctx.touched
        postings = ctx.postings
        append = postings.append
        add_fill = ctx.fills.append
        tnum = self._taker_num
        tdiv = self._taker_div
        mnum = self._maker_num
        taker_id = o.order_id
        t_uid = tu.user_id
        t_avail_ref = tu.available_ref
        fees = 0
        volume = 0
        while o.remaining:
            # the best opposite level, if within the limit (an empty side's index, n for asks
            # and 0 for bids, never is)
            if is_bid:
                lvl = self._best_ask
                within = lvl <= limit_lvl
            else:
                lvl = self._best_bid
                within = lvl >= limit_lvl
            if amm is not None:
                k = self._amm_run(o, lvl * tick if within else None, max_cost, spent)
                if k < 0:
                    o.reason = CancelReason.MAX_COST
                    break
                if k:
                    spent += self._fill_amm(o, k, ctx)
                    continue
            if not within:
                break
            price = lvl * tick
            dq = books[lvl]
            assert dq is not None
            m = dq[0]
            if not m.live:
                dq.popleft()
                continue
            mu = m.user
            if mu is tu:
                if o.stp is _CANCEL_RESTING:
                    self._cancel_in_match(m, ctx, CancelReason.SELF_TRADE)
                    continue
                o.status = _CANCELLED
                o.reason = CancelReason.SELF_TRADE
                break
            k = o.remaining if o.remaining < m.remaining else m.remaining
            no_price = MICRO - price
            if max_cost is not None:
                side_price = price if own_yes else no_price
                afford = (max_cost - spent) // side_price
                if afford < k:
                    k = afford
                if k <= 0:
                    o.reason = CancelReason.MAX_COST
                    break
                spent += k * side_price

            # ---- settle k contracts between taker o and maker m at price
            m_uid = mu.user_id
            if m_uid not in start:  # the taker was noted when matching began
                start[m_uid] = (mu, mu.position, mu.committed)
            if is_bid:
                bid, ask, bu, au = o, m, tu, mu
            else:
                bid, ask, bu, au = m, o, mu, tu
            bpos = bu.position
            apos = au.position
            cb = -bpos if bpos < 0 else 0  # contracts the bid closes (it holds NO)
            if cb > k:
                cb = k
            ca = apos if apos > 0 else 0  # contracts the ask closes (it holds YES)
            if ca > k:
                ca = k
            segs: list[tuple[FillKind, int, bool, bool]]  # kind, count, bid/ask closes
            if not cb and not ca:
                segs = [(_K_MINT, k, False, False)]
            else:
                # an order that closes usually holds all the contracts it closes: that case
                # of ``_close_from`` is done inline (three in four closes on the thin stream)
                if cb:
                    held = bid.hold_contracts
                    if held >= cb:
                        bid.hold_contracts = held - cb
                        bu.committed -= cb
                        if held == cb:
                            bu.holders.pop(bid.order_id, None)
                    else:
                        self._close_from(bid, bu, cb, ctx)
                if ca:
                    held = ask.hold_contracts
                    if held >= ca:
                        ask.hold_contracts = held - ca
                        au.committed -= ca
                        if held == ca:
                            au.holders.pop(ask.order_id, None)
                    else:
                        self._close_from(ask, au, ca, ctx)
                # the usual cases are one segment: one side or both close all k
                if cb == k:
                    if not ca:
                        segs = [(_K_TRANSFER, k, True, False)]
                    elif ca == k:
                        segs = [(_K_MERGE, k, True, True)]
                    else:
                        segs = _segments(k, cb, ca)
                elif ca == k and not cb:
                    segs = [(_K_TRANSFER, k, False, True)]
                else:
                    segs = _segments(k, cb, ca)
            bu.position = bpos + k
            au.position = apos - k
            variance = price * no_price
            maker_yes = m.side is _YES
            m_oid = m.order_id
            trades = o.trades
            for kind, s, b_close, a_close in segs:
                y = price * s
                nv = no_price * s
                if kind is _K_MINT:
                    tpay, mpay = (y, nv) if is_bid else (nv, y)
                    o.hold_cash -= tpay
                    tu.available -= tpay
                    append(_new(Posting, (t_avail_ref, ESCROW, tpay, _MINT)))
                    m.hold_cash -= mpay
                    mu.reserved -= mpay
                    append(_new(Posting, (mu.reserved_ref, ESCROW, mpay, _MINT)))
                    self.escrow += s * MICRO
                    self.open_interest += s
                elif kind is _K_MERGE:
                    self.escrow -= s * MICRO
                    self.open_interest -= s
                    bu.available += nv
                    append(_new(Posting, (ESCROW, bu.available_ref, nv, _MERGE)))
                    au.available += y
                    append(_new(Posting, (ESCROW, au.available_ref, y, _MERGE)))
                else:  # transfer: the side that opens pays the side that closes
                    if b_close:  # bid sells NO, ask buys NO
                        amount, payee, taker_pays = nv, bu, not is_bid
                    else:  # bid buys YES, ask sells YES
                        amount, payee, taker_pays = y, au, is_bid
                    if taker_pays:
                        o.hold_cash -= amount
                        assert o.hold_cash >= 0, "order paid more than it held"
                        tu.available -= amount
                        append(_new(Posting, (t_avail_ref, payee.available_ref, amount, _TRADE)))
                    else:
                        m.hold_cash -= amount
                        assert m.hold_cash >= 0, "order paid more than it held"
                        mu.reserved -= amount
                        append(
                            _new(Posting, (mu.reserved_ref, payee.available_ref, amount, _TRADE))
                        )
                    payee.available += amount
                var_total = variance * s
                # taker: stats and fee (paid from available cash, within the budget checked).
                # An order takes only while it is placed, from a zero basis, so the fees it has
                # paid are exactly ceil_to_cent(rate x basis so far): one division, not two.
                o.filled += s
                o.notional += y if own_yes else nv
                basis = o.taker_basis + var_total
                o.taker_basis = basis
                taker_fee = 0
                if tnum:
                    taker_fee = -(-(tnum * basis) // tdiv) * _CENT - o.taker_fees
                    if taker_fee:
                        o.taker_fees += taker_fee
                        o.hold_cash -= taker_fee
                        tu.available -= taker_fee
                        append(_new(Posting, (t_avail_ref, FEES, taker_fee, _FEE)))
                # maker: stats and fee (paid from its hold)
                m.filled += s
                m.notional += y if maker_yes else nv
                maker_fee = 0
                if mnum:
                    old = m.maker_basis
                    m.maker_basis = old + var_total
                    d = self._maker_div
                    maker_fee = (-(-(mnum * (old + var_total)) // d) + (-(mnum * old) // d)) * _CENT
                    if maker_fee:
                        m.maker_fees += maker_fee
                        m.hold_cash -= maker_fee
                        assert m.hold_cash >= 0, "order paid more than it held"
                        mu.reserved -= maker_fee
                        append(_new(Posting, (mu.reserved_ref, FEES, maker_fee, _FEE)))
                        fees += maker_fee
                else:
                    m.maker_basis += var_total
                fees += taker_fee
                trades += 1
                # a side that closes sells what it holds (the bid NO, the ask YES); one that
                # opens buys (the bid YES, the ask NO)
                if is_bid:
                    t_close, m_close = b_close, a_close
                    t_side, t_price = (_NO, no_price) if b_close else (_YES, price)
                    m_side, m_price = (_YES, price) if a_close else (_NO, no_price)
                else:
                    t_close, m_close = a_close, b_close
                    t_side, t_price = (_YES, price) if a_close else (_NO, no_price)
                    m_side, m_price = (_NO, no_price) if b_close else (_YES, price)
                add_fill(
                    _new(
                        Fill,
                        (
                            f"{taker_id}:{trades}",
                            price,
                            y,
                            s,
                            kind,
                            taker_id,
                            t_uid,
                            t_book,
                            t_side,
                            t_price,
                            0 if t_close else s,
                            s if t_close else 0,
                            taker_fee,
                            m_oid,
                            m_uid,
                            m_side,
                            m_price,
                            0 if m_close else s,
                            s if m_close else 0,
                            maker_fee,
                        ),
                    )
                )
            o.trades = trades
            o.remaining -= k
            volume += k
            self.last_price = price

            # ---- maker bookkeeping
            m.remaining -= k
            qty[lvl] -= k
            touched[m_oid] = m
            if m.remaining == 0:
                dq.popleft()
                m.live = False
                m.status = _FILLED
                del orders[m_oid]
                del mu.orders[m_oid]
                if m.hold_cash or m.hold_contracts:
                    self._release_all(m, postings)
            elif mnum:
                self._rebalance(m, ctx, as_maker=True)
            else:  # no maker fee: the hold is the price part of what remains
                extra = m.hold_cash - (m.remaining - m.hold_contracts) * m.cash_per
                if extra > 0:
                    m.hold_cash -= extra
                    mu.reserved -= extra
                    mu.available += extra
                    append(_new(Posting, (mu.reserved_ref, mu.available_ref, extra, _RELEASE)))
            topups = ctx.topups
            if topups:
                ctx.topups = []
                self._process_topups(ctx, topups)
            if qty[lvl] == 0:
                dq.clear()
                if is_bid:
                    i = lvl + 1
                    while i < n and not qty[i]:
                        i += 1
                    self._best_ask = i
                else:
                    i = lvl - 1
                    while i > 0 and not qty[i]:
                        i -= 1
                    self._best_bid = i
        # book fills' totals (the AMM's fills add theirs as they go)
        self.fees_collected += fees
        self.volume += volume

    def _amm_run(self, o: Order, book_price: int | None, max_cost: int | None, spent: int) -> int:
        """Contracts to take from the AMM now (0: use the book; -1: budget exhausted)."""
        amm = self._amm
        assert amm is not None
        amm_user = self._amm_user
        taker = o.user
        x = -amm_user.position
        if o.is_bid:
            xs = x
            if book_price is not None:
                target, strict = book_price, True
            else:
                target, strict = o.yes_price, False
            tc = -taker.position if taker.position < 0 else 0
            ac = amm_user.position if amm_user.position > 0 else 0
        else:
            xs = -x
            if book_price is not None:
                target, strict = MICRO - book_price, True
            else:
                target, strict = MICRO - o.yes_price, False
            tc = taker.position if taker.position > 0 else 0
            ac = -amm_user.position if amm_user.position < 0 else 0
        cap = o.remaining
        # keep one AMM fill inside one segment kind so its notional needs no splitting
        lo_b = tc if tc < ac else ac
        hi_b = tc if tc > ac else ac
        if lo_b > 0 and cap > lo_b:
            cap = lo_b
        elif hi_b > 0 and cap > hi_b:
            cap = hi_b
        k = amm.run_length(xs, target, strict, cap)
        if k and max_cost is not None:
            budget = max_cost - spent
            if amm.cost_up(xs, k) > budget:
                lo, hi = 0, k
                while hi - lo > 1:
                    mid = (lo + hi) // 2
                    if amm.cost_up(xs, mid) <= budget:
                        lo = mid
                    else:
                        hi = mid
                if lo == 0:
                    return -1
                k = lo
        return k

    def _fill_amm(self, o: Order, k: int, ctx: _Ctx) -> int:
        """Fill ``k`` contracts of taker ``o`` against the AMM; returns taker's own-side cost."""
        amm = self._amm
        assert amm is not None
        amm_user = self._amm_user
        self._note_user(amm_user, ctx)
        x = -amm_user.position
        if o.is_bid:
            yes_notional = amm.cost_up(x, k)
            own_cost = yes_notional
            self._trade(o, None, o.user, amm_user, k, None, yes_notional, True, ctx)
        else:
            no_cost = amm.cost_up(-x, k)
            own_cost = no_cost
            yes_notional = k * MICRO - no_cost
            self._trade(None, o, amm_user, o.user, k, None, yes_notional, False, ctx)
        return own_cost

    def _close_from(self, o: Order | None, u: UserBook, c: int, ctx: _Ctx) -> None:
        """Account for ``c`` contracts the owner of ``o`` closes: its own held ones first,
        then uncommitted ones, then ones taken from the user's other resting orders."""
        # uncommitted contracts, counted before this order's own held ones are consumed
        free = (u.position if u.position > 0 else -u.position) - u.committed
        if o is not None and o.hold_contracts:
            own = c if c < o.hold_contracts else o.hold_contracts
            o.hold_contracts -= own
            u.committed -= own
            c -= own
            if not o.hold_contracts:
                u.holders.pop(o.order_id, None)
        if c <= free:
            return
        need = c - free
        holders = u.holders
        # newest orders give up their contracts first (``holders`` is kept in seq order)
        while need:
            oid, v = holders.popitem()
            if not v.hold_contracts or not v.live or v is o:
                continue
            t = need if need < v.hold_contracts else v.hold_contracts
            v.hold_contracts -= t
            u.committed -= t
            need -= t
            # (``o`` is None for the AMM, which never rests orders, so never gets here)
            (ctx.own_topups if o is not None and o.taking else ctx.topups).append((v, t))
            if v.hold_contracts:
                holders[oid] = v
        assert need == 0, "committed contracts exceed position"

    def _process_topups(self, ctx: _Ctx, topups: list[tuple[Order, int]]) -> None:
        """Orders whose held contracts were used by a sibling order now need cash instead;
        if the user cannot cover it (or the order is reduce_only) the order shrinks."""
        for v, t in topups:
            if not v.live:
                continue
            u = v.user
            self._note_user(u, ctx)
            ctx.touched[v.order_id] = v
            need = t * v.cash_per
            if not v.reduce_only and u.available >= need:
                u.available -= need
                u.reserved += need
                v.hold_cash += need
                ctx.postings.append(_new(Posting, (u.available_ref, u.reserved_ref, need, _HOLD)))
                continue
            cut = t if t < v.remaining else v.remaining
            if cut == v.remaining:
                self._cancel_in_match(v, ctx, CancelReason.NO_POSITION)
                continue
            lvl = v.yes_price // self.tick
            if v.is_bid:
                self._bid_qty[lvl] -= cut
            else:
                self._ask_qty[lvl] -= cut
            v.remaining -= cut
            self._rebalance(v, ctx, as_maker=True)

    def _trade(
        self,
        bid: Order | None,
        ask: Order | None,
        bu: UserBook,
        au: UserBook,
        k: int,
        price: int | None,
        yes_notional: int,
        taker_is_bid: bool,
        ctx: _Ctx,
    ) -> None:
        """Settle ``k`` contracts between a bid and an ask at YES value ``yes_notional``.

        Splits into merge / transfer / mint segments, moves cash and contracts, charges fees
        and records one Fill per segment.  ``price`` is the per-contract YES price of a book
        fill, None for an AMM fill (which the caller keeps within one segment).
        """
        start = ctx.start
        if bu.user_id not in start:
            start[bu.user_id] = (bu, bu.position, bu.committed)
        if au.user_id not in start:
            start[au.user_id] = (au, au.position, au.committed)
        bpos = bu.position
        apos = au.position
        cb = -bpos if bpos < 0 else 0
        if cb > k:
            cb = k
        ca = apos if apos > 0 else 0
        if ca > k:
            ca = k
        if cb:
            self._close_from(bid, bu, cb, ctx)
        if ca:
            self._close_from(ask, au, ca, ctx)
        bu.position = bpos + k
        au.position = apos - k
        if taker_is_bid:
            taker, maker, tu, mu = bid, ask, bu, au
        else:
            taker, maker, tu, mu = ask, bid, au, bu
        assert taker is not None
        segs = _segments(k, cb, ca)
        postings = ctx.postings
        fills = ctx.fills
        tnum = self._taker_num
        mnum = self._maker_num
        for kind, s, b_close, a_close in segs:
            y = price * s if price is not None else yes_notional
            nv = s * MICRO - y
            # cash legs
            if kind is _K_MINT:
                if price is not None:  # both are orders: the taker pays from available
                    if taker_is_bid:
                        tpay, mpay = y, nv
                    else:
                        tpay, mpay = nv, y
                    taker.hold_cash -= tpay
                    tu.available -= tpay
                    postings.append(_new(Posting, (tu.available_ref, ESCROW, tpay, _MINT)))
                    maker.hold_cash -= mpay  # type: ignore[union-attr]
                    mu.reserved -= mpay
                    postings.append(_new(Posting, (mu.reserved_ref, ESCROW, mpay, _MINT)))
                else:
                    self._pay(bid, bu, y, ESCROW, _MINT, postings)
                    self._pay(ask, au, nv, ESCROW, _MINT, postings)
                self.escrow += s * MICRO
                self.open_interest += s
            elif kind is _K_MERGE:
                self.escrow -= s * MICRO
                self.open_interest -= s
                bu.available += nv
                postings.append(_new(Posting, (ESCROW, bu.available_ref, nv, _MERGE)))
                au.available += y
                postings.append(_new(Posting, (ESCROW, au.available_ref, y, _MERGE)))
            elif b_close:  # bid sells NO, ask buys NO
                self._pay(ask, au, nv, bu.available_ref, _TRADE, postings)
                bu.available += nv
            else:  # bid buys YES, ask sells YES
                self._pay(bid, bu, y, au.available_ref, _TRADE, postings)
                au.available += y
            # fee basis: count x P x (1 - P), P the segment's average price (AMM: rounded up)
            if price is None:
                var_total = -(-(y * nv) // s)
            else:
                var_total = price * (MICRO - price) * s
            # taker: stats and fee (the taker pays from available cash within its budget)
            taker.filled += s
            taker.notional += y if taker.side is _YES else nv
            old = taker.taker_basis
            taker.taker_basis = old + var_total
            taker_fee = 0
            if tnum:
                d = self._taker_den * _FEE_DIV
                taker_fee = (-(-(tnum * (old + var_total)) // d) + (-(tnum * old) // d)) * _CENT
                if taker_fee:
                    taker.taker_fees += taker_fee
                    taker.hold_cash -= taker_fee
                    tu.available -= taker_fee
                    postings.append(_new(Posting, (tu.available_ref, FEES, taker_fee, _FEE)))
            maker_fee = 0
            if maker is not None:
                maker.filled += s
                maker.notional += y if maker.side is _YES else nv
                old = maker.maker_basis
                maker.maker_basis = old + var_total
                if mnum:
                    d = self._maker_den * _FEE_DIV
                    maker_fee = (-(-(mnum * (old + var_total)) // d) + (-(mnum * old) // d)) * _CENT
                    if maker_fee:
                        maker.maker_fees += maker_fee
                        self._pay(maker, mu, maker_fee, FEES, _FEE, postings)
            self.fees_collected += taker_fee + maker_fee
            taker.trades += 1
            yp = price if price is not None else (2 * y + s) // (2 * s)
            b_side, b_price = (_NO, MICRO - yp) if b_close else (_YES, yp)
            a_side, a_price = (_YES, yp) if a_close else (_NO, MICRO - yp)
            if taker_is_bid:
                t_side, t_price, t_close = b_side, b_price, b_close
                m_side, m_price, m_close = a_side, a_price, a_close
            else:
                t_side, t_price, t_close = a_side, a_price, a_close
                m_side, m_price, m_close = b_side, b_price, b_close
            fills.append(
                _new(
                    Fill,
                    (
                        f"{taker.order_id}:{taker.trades}",
                        yp,
                        y,
                        s,
                        kind,
                        taker.order_id,
                        tu.user_id,
                        _BID if taker_is_bid else _ASK,
                        t_side,
                        t_price,
                        0 if t_close else s,
                        s if t_close else 0,
                        taker_fee,
                        maker.order_id if maker is not None else None,
                        mu.user_id,
                        m_side,
                        m_price,
                        0 if m_close else s,
                        s if m_close else 0,
                        maker_fee,
                    ),
                )
            )
        if taker_is_bid:
            bid.remaining -= k  # type: ignore[union-attr]
        else:
            ask.remaining -= k  # type: ignore[union-attr]
        self.volume += k
        self.last_price = price if price is not None else (2 * yes_notional + k) // (2 * k)

    def _pay(
        self,
        o: Order | None,
        u: UserBook,
        amount: int,
        to: AccountRef,
        kind: PostingKind,
        postings: list[Posting],
    ) -> None:
        """Pay ``amount`` out of an order's cash hold (or the AMM's cash) to ``to``."""
        if amount <= 0:
            return
        if o is None:  # the AMM pays from its own account
            u.available -= amount
            postings.append(_new(Posting, (u.available_ref, to, amount, kind)))
            return
        o.hold_cash -= amount
        assert o.hold_cash >= 0, "order paid more than it held"
        if o.taking:
            u.available -= amount
            postings.append(_new(Posting, (u.available_ref, to, amount, kind)))
        else:
            u.reserved -= amount
            postings.append(_new(Posting, (u.reserved_ref, to, amount, kind)))
