"""One item the engine fails on is refused on its own; the rest of its batch trades and the
market keeps going (the activity would otherwise retry the batch forever)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from core.db import connection, transaction
from models.trading import BatchInput, BatchItem, PlaceOrderRequest
from services.accounts.users import create_user
from services.trading.batches import apply_batch
from services.trading.engine_state import EngineCache
from services.trading.markets import CreateMarketRequest, insert_market
from tests.helpers import fund
from tests.stack import TestStack


def _place(user_id: int, price: int) -> BatchItem:
    return BatchItem(
        kind="place",
        order_id=uuid.uuid4().hex,
        place=PlaceOrderRequest(user_id=user_id, action="buy", side="yes", count=1, price=price),
    )


async def test_a_poisoned_item_is_refused_alone(stack: TestStack) -> None:
    async with transaction() as conn:
        user = await create_user(
            conn, email=f"p-{uuid.uuid4().hex[:8]}@example.com", password="a-long-password"
        )
        market = await insert_market(
            conn,
            CreateMarketRequest(
                title="Poison market", close_time=datetime.now(UTC) + timedelta(hours=1)
            ),
        )
    await fund(str(user), 10_000_000)
    cache = EngineCache()
    now = int(time.time() * 1_000_000)
    mid = str(market.id)
    await apply_batch(
        BatchInput(
            market_id=mid, batch_no=1, now_us=now, items=[BatchItem(kind="status", status="open")]
        ),
        cache,
    )
    # A place item without its order: only a buggy caller sends it, and the engine fails on it.
    broken = BatchItem(kind="place", order_id=uuid.uuid4().hex, place=None)
    good = [_place(user, 100_000), _place(user, 200_000)]
    output = await apply_batch(
        BatchInput(market_id=mid, batch_no=2, now_us=now, items=[good[0], broken, good[1]]), cache
    )
    assert [r.error_code for r in output.results] == [None, "internal_error", None]
    assert [r.orders[0].status for r in (output.results[0], output.results[2])] == ["resting"] * 2
    later = await apply_batch(
        BatchInput(market_id=mid, batch_no=3, now_us=now, items=[_place(user, 300_000)]), cache
    )
    assert later.results[0].error_code is None
    async with connection() as conn:
        count = (
            await conn.execute(
                text("SELECT count(*) FROM orders WHERE market_id = :m"), {"m": market.id}
            )
        ).scalar_one()
    assert count == 3
