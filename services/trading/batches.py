"""Applying one batch of a market's requests: the engine runs, ONE database transaction persists.

The order rows, fills, trades, positions, ledger transactions, the market's statistics, its
stream events and the batch's own result all commit together or not at all. The batch result
is stored under (market, batch number) with a digest of its requests, so a retried activity
returns the first answer instead of trading twice. A batch number can come back with other
requests (a workflow task failed after the batch committed, and the server redelivered its
updates among new ones): then the orders already placed are answered from the database and
the rest trade.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from core.db import sql, transaction
from engine import (
    AMM_USER_ID,
    ORDER_NOT_FOUND,
    AccountKind,
    AccountRef,
    Action,
    CancelResult,
    EngineError,
    Fill,
    MarketEngine,
    OrderRequest,
    OrderState,
    OrderType,
    PlaceResult,
    Posting,
    PostingKind,
    SelfTradePrevention,
    Side,
    TimeInForce,
)
from models.ledger import AccountKind as LedgerKind
from models.trading import (
    BatchInput,
    BatchItem,
    BatchItemResult,
    BatchOutput,
    OrderChange,
    OrderView,
)
from services.accounts.ledger import (
    NewTransaction,
    Wallet,
    escrow_account,
    platform_account,
    post_transactions_with_balances,
    user_accounts,
)
from services.notifications.outbox import record_batch_notifications
from services.streaming.moves import detect_significant_move, significant_move_rule
from services.streaming.user_events import record_batch_user_events
from services.trading.engine_state import EngineCache, load_engine, refresh_cash
from services.trading.stream import MarketEventWriter
from services.trading.views import (
    ORDER_COLUMNS,
    datetime_to_us,
    fill_view_from_row,
    fill_views_of,
    order_view_from_row,
    order_view_from_state,
    us_to_datetime,
)

log = logging.getLogger(__name__)

_LEDGER_KIND = {
    PostingKind.HOLD: "hold",
    PostingKind.RELEASE: "hold",
    PostingKind.TRADE: "trade",
    PostingKind.MINT: "trade",
    PostingKind.MERGE: "trade",
    PostingKind.FEE: "fee",
    PostingKind.SETTLEMENT: "payout",
}


@dataclass
class BatchWork:
    """What the engine changed during one batch, gathered for the single write."""

    now: datetime
    digest: str = ""  # of the batch's requests: a re-formed batch posts under its own keys
    states: dict[str, OrderState] = field(default_factory=dict)
    new_orders: dict[str, OrderRequest] = field(default_factory=dict)
    client_ids: dict[str, str | None] = field(default_factory=dict)
    max_costs: dict[str, int | None] = field(default_factory=dict)
    fills: list[Fill] = field(default_factory=list)
    postings: list[tuple[int, list[Posting]]] = field(default_factory=list)  # (item, postings)
    item_orders: dict[int, str] = field(default_factory=dict)  # item -> the order it placed
    lookups: dict[int, list[str]] = field(default_factory=dict)  # item -> orders to read back
    status: str | None = None
    close_time: datetime | None = None
    placed_before: set[str] = field(default_factory=set)  # by an attempt whose answer was lost
    # item -> (order, the canceller or None for an admin) of a cancel whose order is not resting
    maybe_cancelled: dict[int, tuple[str, int | None]] = field(default_factory=dict)

    def record(self, item_no: int, states: list[OrderState], postings: list[Posting]) -> None:
        for state in states:
            self.states[state.order_id] = state
        if postings:
            self.postings.append((item_no, postings))


class PoisonedItem(Exception):
    """An item the engine failed on unexpectedly (a bug, not a business refusal)."""

    def __init__(self, item_no: int) -> None:
        super().__init__(f"batch item {item_no} failed in the engine")
        self.item_no = item_no


async def apply_batch(batch: BatchInput, cache: EngineCache) -> BatchOutput:
    """Apply a batch; an item the engine cannot process is refused on its own, so one bad
    request never stalls its market (the activity would otherwise retry the batch forever)."""
    poisoned: set[int] = set()
    while True:
        try:
            return await _apply_batch_once(batch, cache, poisoned)
        except PoisonedItem as exc:
            log.exception(
                "market %s batch %s: refusing item %s, %s",
                batch.market_id, batch.batch_no, exc.item_no, batch.items[exc.item_no],
            )  # fmt: skip
            poisoned.add(exc.item_no)


async def _apply_batch_once(
    batch: BatchInput, cache: EngineCache, poisoned: set[int]
) -> BatchOutput:
    market_id = int(batch.market_id)
    try:
        async with transaction() as conn:
            # The market, locked; the batch's stored result if a previous attempt committed (a
            # retry racing that attempt is stopped by trade_batches' primary key instead); and
            # which of the batch's new orders a previous attempt placed already.
            market = (
                await conn.execute(
                    sql(
                        "SELECT m.*, (SELECT result FROM trade_batches "
                        "WHERE market_id = m.id AND batch_no = :b) AS stored_result, "
                        "ARRAY(SELECT id FROM orders WHERE id = ANY(:placing)) AS placed_before "
                        "FROM markets m WHERE m.id = :m FOR UPDATE OF m"
                    ),
                    {"m": market_id, "b": batch.batch_no, "placing": _placing_ids(batch)},
                )
            ).one()
            digest = batch_digest(batch)
            if market.stored_result is not None:
                stored = BatchOutput.model_validate(market.stored_result)
                if stored.input_digest in (digest, ""):
                    log.info("market %s batch %s was applied before", market_id, batch.batch_no)
                    return stored
                # A workflow task failed after this batch number committed, and the server's
                # redelivered updates formed a different batch: apply it, answering the orders
                # placed then from the database.
                log.warning(
                    "market %s batch %s re-formed after it committed; %s orders placed before",
                    market_id, batch.batch_no, len(market.placed_before),
                )  # fmt: skip
            engine = cache.get(market_id, int(market.last_batch))
            if engine is None:
                engine = await load_engine(conn, market)
            output = await _apply(conn, engine, market, batch, poisoned, digest)
    except BaseException:
        # The engine may hold changes the database rolled back: rebuild it next time.
        cache.drop(market_id)
        raise
    cache.put(market_id, engine, batch.batch_no)
    return output


def _placing_ids(batch: BatchInput) -> list[str]:
    return [item.order_id for item in batch.items if item.kind == "place" and item.order_id]


def batch_digest(batch: BatchInput) -> str:
    """What the batch asks for, as a hash: a stored result answers only the same requests."""
    items = b"\n".join(item.model_dump_json().encode() for item in batch.items)
    return hashlib.sha256(items).hexdigest()


async def _apply(
    conn: AsyncConnection,
    engine: MarketEngine,
    market: Any,
    batch: BatchInput,
    poisoned: set[int],
    digest: str,
) -> BatchOutput:
    now = us_to_datetime(batch.now_us)
    assert now is not None
    work = BatchWork(now=now, digest=digest, placed_before=set(market.placed_before))
    placing = [item.place for item in batch.items if item.kind == "place" and item.place]
    await refresh_cash(conn, engine, {p.user_id for p in placing})
    known = await _orders_by_client_id(conn, placing)
    results: list[BatchItemResult] = []
    status = market.status
    for item_no, item in enumerate(batch.items):
        if item_no in poisoned:
            results.append(_REFUSED)
            continue
        try:
            result, status = _run_item(engine, work, item_no, item, batch.now_us, known, status)
        except Exception as exc:
            raise PoisonedItem(item_no) from exc
        results.append(result)
    work.status = status
    await _persist(conn, engine, market, batch, work)
    await _fill_in_views(conn, work, results, str(market.id))
    await _answer_cancels_done_before(conn, work, results)
    changes = [
        OrderChange(
            order_id=s.order_id,
            user_id=int(s.user_id),
            status=s.status.value,
            expires_at_us=s.expires_at,
        )
        for s in work.states.values()
    ]
    # Orders answered from the database: the workflow learns their state again (a lost workflow
    # task may have taken its first record of them along).
    changes += [
        OrderChange(
            order_id=view.id,
            user_id=int(view.user_id),
            status=view.status,
            expires_at_us=datetime_to_us(view.expires_at),
        )
        for item_no in work.lookups
        if batch.items[item_no].kind == "place"
        for view in results[item_no].orders
        if view.id not in work.states
    ]
    output = BatchOutput(results=results, changes=changes, status=status, input_digest=digest)
    await conn.execute(
        sql(
            "INSERT INTO trade_batches (market_id, batch_no, result) "
            "VALUES (:m, :b, CAST(:r AS jsonb)) "
            "ON CONFLICT (market_id, batch_no) DO UPDATE SET result = EXCLUDED.result"
        ),
        {"m": market.id, "b": batch.batch_no, "r": output.model_dump_json()},
    )
    return output


_REFUSED = BatchItemResult(
    error_code="internal_error", error_message="the request could not be processed"
)


def _run_item(
    engine: MarketEngine,
    work: BatchWork,
    item_no: int,
    item: BatchItem,
    now_us: int,
    known: dict[tuple[int, str], str],
    status: str,
) -> tuple[BatchItemResult, str]:
    """Run one request through the engine; business failures become results, not exceptions."""
    try:
        if item.kind == "place":
            return _place(engine, work, item_no, item, now_us, known, status), status
        if item.kind == "cancel":
            assert item.order_id is not None
            user = None if item.user_id is None else str(item.user_id)
            cancelled = [engine.cancel(item.order_id, user)]
        elif item.kind == "cancel_all":
            cancelled = engine.cancel_all(str(item.user_id))
        elif item.kind == "expire":
            cancelled = engine.expire(now_us)
        elif item.kind == "close":
            cancelled = engine.cancel_everything()
            status = "closed"
        else:  # status change
            assert item.status is not None
            work.close_time = item.close_time or work.close_time
            return BatchItemResult(), item.status
    except EngineError as exc:
        if item.kind == "cancel" and exc.code == ORDER_NOT_FOUND and item.order_id:
            work.maybe_cancelled[item_no] = (item.order_id, item.user_id)
        return BatchItemResult(error_code=exc.code, error_message=str(exc.message)), status
    _record_cancels(work, item_no, cancelled)
    work.lookups[item_no] = [c.order.order_id for c in cancelled]
    return BatchItemResult(), status


def _record_cancels(work: BatchWork, item_no: int, cancelled: list[CancelResult]) -> None:
    for c in cancelled:
        work.record(item_no, [c.order, *c.touched], c.postings)


def _place(
    engine: MarketEngine,
    work: BatchWork,
    item_no: int,
    item: BatchItem,
    now_us: int,
    known: dict[tuple[int, str], str],
    status: str,
) -> BatchItemResult:
    p = item.place
    assert p is not None and item.order_id is not None
    if item.order_id in work.placed_before:
        work.lookups[item_no] = [item.order_id]
        return BatchItemResult()
    if p.client_order_id is not None:
        first = known.get((p.user_id, p.client_order_id))
        if first is not None:
            work.lookups[item_no] = [first]
            return BatchItemResult()
    if status != "open":
        return BatchItemResult(error_code="market_not_open", error_message=f"market is {status}")
    request = OrderRequest(
        order_id=item.order_id,
        user_id=str(p.user_id),
        action=Action(p.action),
        side=Side(p.side),
        count=p.count,
        price=p.price,
        type=OrderType(p.type),
        time_in_force=TimeInForce(p.time_in_force),
        expires_at=p.expires_at_us,
        post_only=p.post_only,
        reduce_only=p.reduce_only,
        max_cost=p.max_cost,
        self_trade_prevention=SelfTradePrevention(p.self_trade_prevention),
    )
    result: PlaceResult = engine.place(request, now_us)
    if not result.accepted:
        return BatchItemResult(
            error_code=result.error_code, error_message=result.error_message or result.error_code
        )
    if p.client_order_id is not None:
        known[(p.user_id, p.client_order_id)] = item.order_id
    work.new_orders[item.order_id] = request
    work.item_orders[item_no] = item.order_id
    work.client_ids[item.order_id] = p.client_order_id
    work.max_costs[item.order_id] = p.max_cost
    work.fills.extend(result.fills)
    work.record(item_no, [result.order, *result.touched], result.postings)
    view = order_view_from_state(
        result.order,
        market_id=engine.market_id,
        client_order_id=p.client_order_id,
        created_at=work.now,
        fills=fill_views_of(item.order_id, result.fills, work.now),
    )
    return BatchItemResult(orders=[view])


async def _orders_by_client_id(
    conn: AsyncConnection, placing: list[Any]
) -> dict[tuple[int, str], str]:
    keyed = [(p.user_id, p.client_order_id) for p in placing if p.client_order_id is not None]
    if not keyed:
        return {}
    rows = await conn.execute(
        sql(
            "SELECT o.user_id, o.client_order_id, o.id FROM orders o "
            "JOIN unnest(CAST(:u AS bigint[]), CAST(:c AS text[])) AS k(user_id, client_order_id) "
            "ON o.user_id = k.user_id AND o.client_order_id = k.client_order_id"
        ),
        {"u": [k[0] for k in keyed], "c": [k[1] for k in keyed]},
    )
    return {(int(u), c): i for u, c, i in rows}


async def _fill_in_views(
    conn: AsyncConnection, work: BatchWork, results: list[BatchItemResult], market_id: str
) -> None:
    """Views of orders that were not placed in this batch (cancelled, or repeated requests)."""
    wanted = sorted({oid for ids in work.lookups.values() for oid in ids})
    if not wanted:
        return
    views = await order_views(conn, wanted)
    for item_no, ids in work.lookups.items():
        results[item_no].orders = [views[oid] for oid in ids]


async def _answer_cancels_done_before(
    conn: AsyncConnection, work: BatchWork, results: list[BatchItemResult]
) -> None:
    """A cancel of an order no longer resting that is already cancelled (by this request's
    lost first attempt, or a twin) answers with the order: cancelling is idempotent."""
    if not work.maybe_cancelled:
        return
    views = await order_views(conn, sorted({o for o, _ in work.maybe_cancelled.values()}))
    for item_no, (order_id, user_id) in work.maybe_cancelled.items():
        view = views.get(order_id)
        if view is None or view.status != "cancelled":
            continue
        if user_id is None or view.user_id == str(user_id):
            results[item_no] = BatchItemResult(orders=[view])


async def order_views(conn: AsyncConnection, order_ids: list[str]) -> dict[str, OrderView]:
    rows = (
        await conn.execute(
            sql(f"SELECT {ORDER_COLUMNS} FROM orders WHERE id = ANY(:ids)"), {"ids": order_ids}
        )
    ).all()
    fills: dict[str, list[Any]] = defaultdict(list)
    fill_rows = await conn.execute(
        sql(
            "SELECT id, order_id, price, count, fee, is_taker, kind, created_at FROM fills "
            "WHERE order_id = ANY(:ids) ORDER BY created_at, id"
        ),
        {"ids": order_ids},
    )
    for f in fill_rows:
        fills[f.order_id].append(fill_view_from_row(f))
    return {row.id: order_view_from_row(row, fills[row.id]) for row in rows}


# ---------------------------------------------------------------- the single write


async def _persist(
    conn: AsyncConnection, engine: MarketEngine, market: Any, batch: BatchInput, work: BatchWork
) -> None:
    await _write_orders(conn, market.id, work)
    await _write_fills(conn, market.id, work)
    await _write_positions(conn, engine, market.id, work)
    best_bid, best_ask = engine.top_of_book()
    await conn.execute(
        sql(
            """
            UPDATE markets SET status = :status, last_batch = :batch, last_price = :last,
                best_bid = :bid, best_ask = :ask, volume = :volume,
                open_interest = :oi, fees_collected = :fees, amm_position = :amm_pos,
                amm_cash = :amm_cash, updated_at = :now,
                close_time = coalesce(:close_time, close_time)
            WHERE id = :m
            """
        ),
        {
            "status": work.status,
            "batch": batch.batch_no,
            "last": engine.last_price,
            "bid": best_bid,
            "ask": best_ask,
            "volume": engine.volume,
            "oi": engine.open_interest,
            "fees": engine.fees_collected,
            "amm_pos": engine.user(AMM_USER_ID)[2],
            "amm_cash": engine.amm_cash,
            "now": work.now,
            "m": market.id,
            "close_time": work.close_time,
        },
    )
    move = await detect_significant_move(
        conn, market.id, work.fills, work.now, **significant_move_rule()
    )
    events = MarketEventWriter(conn, market.id)
    events.add_batch(
        market, engine, work.fills, work.status, work.now, book_changed=bool(work.states)
    )
    if move is not None:
        events.add("significant_move", move)
    await events.flush()
    # The ledger locks user accounts that every market shares: post late to hold them briefly.
    # The wallet events and invoices below show the balances it leaves.
    wallets = await _write_ledger(conn, market.id, batch.batch_no, work)
    await record_batch_user_events(
        conn, market.id, work.states.values(), work.fills, work.client_ids, wallets, work.now
    )
    await record_batch_notifications(conn, market, batch.batch_no, work, wallets, move)


async def _write_orders(conn: AsyncConnection, market_id: int, work: BatchWork) -> None:
    if not work.states:
        return
    rows = []
    for s in work.states.values():
        rows.append(
            {
                "id": s.order_id,
                "market_id": market_id,
                "user_id": int(s.user_id),
                "action": s.action.value,
                "side": s.side.value,
                "book_side": s.book_side.value,
                "type": s.type.value,
                "tif": s.time_in_force.value,
                "yes_price": s.yes_price,
                "count": s.count,
                "filled_count": s.filled_count,
                "remaining_count": s.remaining_count,
                "filled_notional": s.filled_notional,
                "status": s.status.value,
                "reason": s.reason,
                "taker_fees": s.taker_fees,
                "maker_fees": s.maker_fees,
                "taker_fee_basis": s.taker_fee_basis,
                "maker_fee_basis": s.maker_fee_basis,
                "held_cash": s.held_cash,
                "held_contracts": s.held_contracts,
                "seq": s.seq,
                "expires_at": us_to_datetime(s.expires_at),
                "post_only": s.post_only,
                "reduce_only": s.reduce_only,
                "max_cost": work.max_costs.get(s.order_id),
                "stp": s.self_trade_prevention.value,
                "client_order_id": work.client_ids.get(s.order_id),
                "now": work.now,
            }
        )
    await conn.execute(
        sql(
            """
            INSERT INTO orders (id, market_id, user_id, action, side, book_side, type,
                time_in_force, yes_price, count, filled_count, remaining_count, filled_notional,
                status, reason, taker_fees, maker_fees, taker_fee_basis, maker_fee_basis,
                held_cash, held_contracts, seq, expires_at, post_only, reduce_only, max_cost,
                self_trade_prevention, client_order_id, created_at, updated_at)
            VALUES (:id, :market_id, :user_id, :action, :side, :book_side, :type, :tif,
                :yes_price, :count, :filled_count, :remaining_count, :filled_notional, :status,
                :reason, :taker_fees, :maker_fees, :taker_fee_basis, :maker_fee_basis,
                :held_cash, :held_contracts, :seq, :expires_at, :post_only, :reduce_only,
                :max_cost, :stp, :client_order_id, :now, :now)
            ON CONFLICT (id) DO UPDATE SET
                filled_count = EXCLUDED.filled_count,
                remaining_count = EXCLUDED.remaining_count,
                filled_notional = EXCLUDED.filled_notional,
                status = EXCLUDED.status, reason = EXCLUDED.reason,
                taker_fees = EXCLUDED.taker_fees, maker_fees = EXCLUDED.maker_fees,
                taker_fee_basis = EXCLUDED.taker_fee_basis,
                maker_fee_basis = EXCLUDED.maker_fee_basis,
                held_cash = EXCLUDED.held_cash, held_contracts = EXCLUDED.held_contracts,
                updated_at = EXCLUDED.updated_at
            """
        ),
        rows,
    )


async def _write_fills(conn: AsyncConnection, market_id: int, work: BatchWork) -> None:
    """The batch's trades and, for each, the taker's and the maker's fill, in one statement."""
    if not work.fills:
        return
    fills: dict[str, list[Any]] = defaultdict(list)
    for f in work.fills:
        for taker in (True, False):
            user = f.taker_user_id if taker else f.maker_user_id
            fills["id"].append(f"{f.trade_id}:{'t' if taker else 'm'}")
            fills["trade"].append(f.trade_id)
            fills["order"].append(f.taker_order_id if taker else f.maker_order_id)
            fills["user"].append(None if user == AMM_USER_ID else int(user))
            fills["side"].append((f.taker_side if taker else f.maker_side).value)
            fills["price"].append(f.taker_price if taker else f.maker_price)
            fills["count"].append(f.count)
            fills["fee"].append(f.taker_fee if taker else f.maker_fee)
            fills["taker"].append(taker)
            fills["opened"].append(f.taker_opened if taker else f.maker_opened)
            fills["closed"].append(f.taker_closed if taker else f.maker_closed)
            fills["kind"].append(f.kind.value)
    await conn.execute(
        sql(
            """
            WITH trades AS (
                INSERT INTO trades (id, market_id, yes_price, count, kind, taker_book_side,
                    created_at)
                SELECT t.id, CAST(:m AS bigint), t.price, t.count, t.kind, t.side,
                    CAST(:now AS timestamptz)
                FROM unnest(CAST(:t_ids AS text[]), CAST(:t_prices AS bigint[]),
                    CAST(:t_counts AS bigint[]), CAST(:t_kinds AS text[]),
                    CAST(:t_sides AS text[])) AS t(id, price, count, kind, side)
            )
            INSERT INTO fills (id, trade_id, market_id, order_id, user_id, side, price, count,
                fee, is_taker, opened, closed, kind, created_at)
            SELECT f.id, f.trade, CAST(:m AS bigint), f.order_id, f.user_id, f.side, f.price,
                f.count, f.fee, f.taker, f.opened, f.closed, f.kind, CAST(:now AS timestamptz)
            FROM unnest(CAST(:ids AS text[]), CAST(:trades AS text[]), CAST(:orders AS text[]),
                CAST(:users AS bigint[]), CAST(:sides AS text[]), CAST(:prices AS bigint[]),
                CAST(:counts AS bigint[]), CAST(:fees AS bigint[]), CAST(:takers AS boolean[]),
                CAST(:opened AS bigint[]), CAST(:closed AS bigint[]), CAST(:kinds AS text[]))
                AS f(id, trade, order_id, user_id, side, price, count, fee, taker, opened,
                    closed, kind)
            """
        ),
        {
            "m": market_id,
            "now": work.now,
            "t_ids": [f.trade_id for f in work.fills],
            "t_prices": [f.yes_price for f in work.fills],
            "t_counts": [f.count for f in work.fills],
            "t_kinds": [f.kind.value for f in work.fills],
            "t_sides": [f.taker_book_side.value for f in work.fills],
            "ids": fills["id"],
            "trades": fills["trade"],
            "orders": fills["order"],
            "users": fills["user"],
            "sides": fills["side"],
            "prices": fills["price"],
            "counts": fills["count"],
            "fees": fills["fee"],
            "takers": fills["taker"],
            "opened": fills["opened"],
            "closed": fills["closed"],
            "kinds": fills["kind"],
        },
    )


@dataclass
class _Book:
    cost: int
    realized: int
    fees: int


async def _write_positions(
    conn: AsyncConnection, engine: MarketEngine, market_id: int, work: BatchWork
) -> None:
    """Positions with their cost basis (average price) and realized P&L, from the fills."""
    users = {
        int(u) for f in work.fills for u in (f.taker_user_id, f.maker_user_id) if u != AMM_USER_ID
    }
    if not users:
        return
    rows = await conn.execute(
        sql(
            "SELECT user_id, position, cost, realized_pnl, fees_paid FROM positions "
            "WHERE market_id = :m AND user_id = ANY(:u) FOR UPDATE"
        ),
        {"m": market_id, "u": list(users)},
    )
    books: dict[int, _Book] = {u: _Book(0, 0, 0) for u in users}
    held: dict[int, int] = {u: 0 for u in users}
    for user_id, position, cost, realized, fees in rows:
        books[int(user_id)] = _Book(int(cost), int(realized), int(fees))
        held[int(user_id)] = abs(int(position))
    for f in work.fills:
        for user, price, opened, closed, fee in (
            (f.taker_user_id, f.taker_price, f.taker_opened, f.taker_closed, f.taker_fee),
            (f.maker_user_id, f.maker_price, f.maker_opened, f.maker_closed, f.maker_fee),
        ):
            if user == AMM_USER_ID:
                continue
            uid = int(user)
            book = books[uid]
            if closed:
                # Average cost of what is closed, rounded down: cost never goes negative.
                basis = book.cost * closed // held[uid] if held[uid] else 0
                book.cost -= basis
                book.realized += closed * price - basis
                held[uid] -= closed
            if opened:
                book.cost += opened * price
                held[uid] += opened
            book.fees += fee
    await conn.execute(
        sql(
            """
            INSERT INTO positions (user_id, market_id, position, cost, realized_pnl, fees_paid,
                updated_at)
            VALUES (:u, :m, :pos, :cost, :realized, :fees, :now)
            ON CONFLICT (user_id, market_id) DO UPDATE SET position = EXCLUDED.position,
                cost = EXCLUDED.cost, realized_pnl = EXCLUDED.realized_pnl,
                fees_paid = EXCLUDED.fees_paid, updated_at = EXCLUDED.updated_at
            """
        ),
        [
            {
                "u": uid,
                "m": market_id,
                "pos": engine.user(str(uid))[2],
                "cost": b.cost,
                "realized": b.realized,
                "fees": b.fees,
                "now": work.now,
            }
            for uid, b in books.items()
        ],
    )


async def _write_ledger(
    conn: AsyncConnection, market_id: int, batch_no: int, work: BatchWork
) -> dict[int, Wallet]:
    """Post the batch's ledger transactions; returns the wallet each user involved is left with."""
    if not work.postings:
        return {}
    users = {
        int(ref.user_id)
        for _, postings in work.postings
        for p in postings
        for ref in (p.debit, p.credit)
        if ref.user_id is not None and ref.user_id != AMM_USER_ID
    }
    accounts = await user_accounts(conn, users)
    fixed = {
        AccountKind.ESCROW: await escrow_account(conn, market_id),
        AccountKind.FEES: await platform_account(conn, LedgerKind.PLATFORM_FEES),
        AccountKind.MARKET_MAKER: await platform_account(conn, LedgerKind.PLATFORM_MARKET_MAKER),
    }

    def account_id(ref: AccountRef) -> int:
        if ref.kind is AccountKind.AVAILABLE and ref.user_id == AMM_USER_ID:
            return fixed[AccountKind.MARKET_MAKER]
        if ref.kind is AccountKind.AVAILABLE:
            return accounts[int(ref.user_id or 0)].available
        if ref.kind is AccountKind.RESERVED:
            return accounts[int(ref.user_id or 0)].reserved
        return fixed[ref.kind]

    # One ledger transaction per item and kind: an item that cancels many orders (close,
    # cancel-all, expiry) recorded its postings in several pieces.
    by_item: dict[int, dict[str, list[tuple[int, int]]]] = defaultdict(lambda: defaultdict(list))
    for item_no, postings in work.postings:
        for p in postings:
            legs = by_item[item_no][_LEDGER_KIND[p.kind]]
            legs += [(account_id(p.debit), -p.amount), (account_id(p.credit), p.amount)]
    transactions = []
    for item_no, grouped in by_item.items():
        for kind, legs in grouped.items():
            transactions.append(
                NewTransaction(
                    kind=kind,
                    idempotency_key=(
                        f"trade-batch:{market_id}:{batch_no}:{work.digest[:16]}:{item_no}:{kind}"
                    ),
                    legs=legs,
                    market_id=market_id,
                    order_id=work.item_orders.get(item_no),
                    memo={"batch": batch_no, "item": item_no},
                )
            )
    # Both of a user's accounts are read (and locked) so that their wallet is exact.
    _, balance = await post_transactions_with_balances(
        conn,
        transactions,
        also_lock=[a for acc in accounts.values() for a in (acc.available, acc.reserved)],
    )
    return {
        uid: Wallet(balance[acc.available], balance[acc.reserved]) for uid, acc in accounts.items()
    }
