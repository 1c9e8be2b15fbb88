"""Markets and events: creating them (and starting their workflows) and reading them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator
from sqlalchemy.ext.asyncio import AsyncConnection
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from core.db import sql
from core.names import TRADE_ENGINE, market_workflow_id, task_queue
from models.money import MoneyFormatError, parse_money
from models.trading import MarketConfig, MarketView, MarketWorkflowState
from services.accounts.ledger import escrow_account
from services.trading.views import MARKET_COLUMNS, market_view_from_row

ALLOWED_TICKS = (10_000, 1_000)
_RATE = re.compile(r"0(\.\d{1,6})?|1(\.0{1,6})?")


class CreateMarketRequest(BaseModel):
    title: str = Field(min_length=3, max_length=200)
    description: str = Field("", max_length=5000)
    rules: str = Field("", max_length=5000)
    open_time: datetime | None = None
    close_time: datetime
    tick_size: str = "0.01"
    taker_fee_rate: str = "0.07"
    maker_fee_rate: str = "0"
    amm_liquidity: str | None = None
    dispute_window_seconds: int = Field(3600, ge=0, le=30 * 24 * 3600)
    event_id: str | None = None

    @field_validator("tick_size")
    @classmethod
    def _tick(cls, value: str) -> str:
        if parse_money(value) not in ALLOWED_TICKS:
            raise ValueError('tick_size must be "0.01" or "0.001"')
        return value

    @field_validator("taker_fee_rate", "maker_fee_rate")
    @classmethod
    def _rate(cls, value: str) -> str:
        if not _RATE.fullmatch(value):
            raise ValueError('a fee rate is a decimal between 0 and 1, like "0.07"')
        return value

    @field_validator("amm_liquidity")
    @classmethod
    def _liquidity(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_money(value, decimals=2)
            except MoneyFormatError as exc:
                raise ValueError(str(exc)) from exc
        return value

    @model_validator(mode="after")
    def _times(self) -> CreateMarketRequest:
        for moment in (self.open_time, self.close_time):
            if moment is not None and moment.tzinfo is None:
                raise ValueError("times must carry a timezone (ISO 8601 with Z or an offset)")
        opens = self.open_time or datetime.now(UTC)
        if self.close_time <= opens:
            raise ValueError("close_time must be after open_time")
        if self.close_time <= datetime.now(UTC):
            raise ValueError("close_time must be in the future")
        return self


class UnknownEventError(ValueError):
    pass


async def insert_market(conn: AsyncConnection, request: CreateMarketRequest) -> Any:
    if request.event_id is not None:
        known = (
            await conn.execute(
                sql("SELECT 1 FROM events WHERE id = :e"),
                {"e": int(request.event_id) if request.event_id.isdigit() else -1},
            )
        ).first()
        if known is None:
            raise UnknownEventError(f"no event {request.event_id}")
    opens = request.open_time or datetime.now(UTC) - timedelta(seconds=1)
    row = (
        await conn.execute(
            sql(
                """
                INSERT INTO markets (event_id, title, description, rules, open_time, close_time,
                    tick_size, taker_fee_rate, maker_fee_rate, amm_liquidity,
                    dispute_window_seconds)
                VALUES (:event, :title, :description, :rules, :open, :close, :tick, :taker,
                    :maker, :amm, :dispute)
                RETURNING *
                """
            ),
            {
                "event": None if request.event_id is None else int(request.event_id),
                "title": request.title,
                "description": request.description,
                "rules": request.rules,
                "open": opens,
                "close": request.close_time,
                "tick": parse_money(request.tick_size),
                "taker": Decimal(request.taker_fee_rate),
                "maker": Decimal(request.maker_fee_rate),
                "amm": None
                if request.amm_liquidity is None
                else parse_money(request.amm_liquidity, decimals=2),
                "dispute": request.dispute_window_seconds,
            },
        )
    ).one()
    await escrow_account(conn, int(row.id))
    return row


def workflow_state(
    market: Any, rollover_events: int = 0, trade_engine_queue: str | None = None
) -> MarketWorkflowState:
    return MarketWorkflowState(
        config=MarketConfig(
            market_id=str(market.id),
            tick=int(market.tick_size),
            open_time=market.open_time,
            close_time=market.close_time,
            trade_engine_queue=trade_engine_queue or task_queue(TRADE_ENGINE),
            dispute_window_seconds=int(market.dispute_window_seconds),
        ),
        status="scheduled",
        rollover_events=rollover_events,
    )


async def start_market_workflow(
    client: Client,
    market: Any,
    rollover_events: int = 0,
    trade_engine_queue: str | None = None,
) -> None:
    """Start the market's workflow on the trade-engine queue: its batches run as local
    activities on the worker that hosts it (see workflows/market.py)."""
    from workflows.market import MARKET_ID, MARKET_STATUS, MarketWorkflow

    state = workflow_state(market, rollover_events, trade_engine_queue)
    await client.start_workflow(
        MarketWorkflow.run,
        state,
        id=market_workflow_id(str(market.id)),
        task_queue=state.config.trade_engine_queue,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(MARKET_ID, str(market.id)),
                SearchAttributePair(MARKET_STATUS, "scheduled"),
            ]
        ),
    )


async def market_view(conn: AsyncConnection, market_id: int) -> MarketView | None:
    row = (
        await conn.execute(
            sql(f"SELECT {MARKET_COLUMNS} FROM markets WHERE id = :m"), {"m": market_id}
        )
    ).one_or_none()
    return None if row is None else market_view_from_row(row)


async def list_markets(
    conn: AsyncConnection, status: str | None, limit: int, after_id: int | None
) -> list[MarketView]:
    rows = await conn.execute(
        sql(
            f"SELECT {MARKET_COLUMNS} FROM markets WHERE (CAST(:s AS text) IS NULL OR status = :s) "
            "AND (CAST(:after AS bigint) IS NULL OR id < :after) ORDER BY id DESC LIMIT :limit"
        ),
        {"s": status, "after": after_id, "limit": limit},
    )
    return [market_view_from_row(r) for r in rows]
