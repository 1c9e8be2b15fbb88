"""Rebuilding a market's engine from Postgres, and keeping it warm between batches.

The MarketWorkflow is the single writer of its market, so a worker can keep the engine in
memory between batches: the cached copy is valid exactly when it has applied the batch the
database says was applied last. Anything else (a restart, another worker took over, a failed
transaction) rebuilds it from the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from core.db import sql
from engine import (
    AMM_USER_ID,
    Action,
    BookSide,
    MarketEngine,
    MarketParams,
    OrderState,
    OrderStatus,
    OrderType,
    SelfTradePrevention,
    Side,
    TimeInForce,
)
from services.accounts.ledger import user_accounts
from services.trading.views import datetime_to_us


@dataclass
class CachedEngine:
    engine: MarketEngine
    last_batch: int


class EngineCache:
    """Engines of the markets this worker has served, keyed by market id."""

    def __init__(self) -> None:
        self._engines: dict[int, CachedEngine] = {}

    def get(self, market_id: int, last_batch: int) -> MarketEngine | None:
        cached = self._engines.get(market_id)
        if cached is None or cached.last_batch != last_batch:
            return None
        return cached.engine

    def put(self, market_id: int, engine: MarketEngine, last_batch: int) -> None:
        self._engines[market_id] = CachedEngine(engine, last_batch)

    def drop(self, market_id: int) -> None:
        self._engines.pop(market_id, None)


def market_params(market: Any) -> MarketParams:
    return MarketParams(
        tick=int(market.tick_size),
        taker_fee_rate=Fraction(str(market.taker_fee_rate)),
        maker_fee_rate=Fraction(str(market.maker_fee_rate)),
        amm_liquidity=None if market.amm_liquidity is None else int(market.amm_liquidity),
    )


def _resting_state(row: Any) -> OrderState:
    return OrderState(
        order_id=row.id,
        user_id=str(row.user_id),
        action=Action(row.action),
        side=Side(row.side),
        book_side=BookSide(row.book_side),
        type=OrderType(row.type),
        time_in_force=TimeInForce(row.time_in_force),
        yes_price=int(row.yes_price),
        count=int(row.count),
        filled_count=int(row.filled_count),
        remaining_count=int(row.remaining_count),
        filled_notional=int(row.filled_notional),
        status=OrderStatus(row.status),
        reason=row.reason,
        taker_fees=int(row.taker_fees),
        maker_fees=int(row.maker_fees),
        taker_fee_basis=int(row.taker_fee_basis),
        maker_fee_basis=int(row.maker_fee_basis),
        held_cash=int(row.held_cash),
        held_contracts=int(row.held_contracts),
        seq=int(row.seq),
        expires_at=datetime_to_us(row.expires_at),
        post_only=row.post_only,
        reduce_only=row.reduce_only,
        self_trade_prevention=SelfTradePrevention(row.self_trade_prevention),
    )


async def load_engine(conn: AsyncConnection, market: Any) -> MarketEngine:
    """The engine of a market as its rows describe it: positions, resting orders, cash, stats."""
    engine = MarketEngine(str(market.id), market_params(market))
    positions = await conn.execute(
        sql("SELECT user_id, position FROM positions WHERE market_id = :m AND position <> 0"),
        {"m": market.id},
    )
    for user_id, position in positions:
        engine.restore_position(str(user_id), int(position))
    if market.amm_liquidity is not None:
        engine.restore_position(AMM_USER_ID, int(market.amm_position))
        engine.set_cash(AMM_USER_ID, int(market.amm_cash))
    resting = (
        await conn.execute(
            sql("SELECT * FROM orders WHERE market_id = :m AND status = 'resting' ORDER BY seq"),
            {"m": market.id},
        )
    ).all()
    for row in resting:
        engine.restore_order(_resting_state(row))
    await refresh_cash(conn, engine, {int(row.user_id) for row in resting})
    engine.restore_stats(
        None if market.last_price is None else int(market.last_price),
        int(market.volume),
        int(market.fees_collected),
    )
    return engine


async def refresh_cash(conn: AsyncConnection, engine: MarketEngine, user_ids: set[int]) -> None:
    """Tell the engine what the ledger says each user can spend right now."""
    if not user_ids:
        return
    accounts = await user_accounts(conn, user_ids)
    by_account = {a.available: uid for uid, a in accounts.items()}
    rows = await conn.execute(
        sql("SELECT id, balance FROM ledger_accounts WHERE id = ANY(:ids)"),
        {"ids": list(by_account)},
    )
    for account_id, balance in rows:
        engine.set_cash(str(by_account[int(account_id)]), int(balance))
