"""A batch re-formed after it committed: a workflow task that fails after its local activity
committed loses the batch's answer, and the server delivers the same updates again, perhaps
batched with new ones under the same batch number. The requests answered before are answered
from the database; nothing is placed or cancelled twice; the new requests trade."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from core.db import connection, transaction
from models.trading import BatchInput, BatchItem, BatchOutput, PlaceOrderRequest
from services.accounts.ledger import reconcile
from services.accounts.users import create_user
from services.trading.batches import apply_batch
from services.trading.engine_state import EngineCache
from services.trading.markets import CreateMarketRequest, insert_market
from tests.helpers import fund
from tests.stack import TestStack

DOLLARS = 1_000_000


def _place(user_id: int, action: str, price: int, count: int = 2) -> BatchItem:
    return BatchItem(
        kind="place",
        order_id=uuid.uuid4().hex,
        place=PlaceOrderRequest(
            user_id=user_id, action=action, side="yes", count=count, price=price
        ),
    )


async def _setup() -> tuple[str, int, int]:
    async with transaction() as conn:
        users = [
            await create_user(
                conn, email=f"r-{uuid.uuid4().hex[:8]}@example.com", password="a-long-password"
            )
            for _ in range(2)
        ]
        market = await insert_market(
            conn,
            CreateMarketRequest(
                title="Re-formed batches", close_time=datetime.now(UTC) + timedelta(hours=1)
            ),
        )
    for user in users:
        await fund(str(user), 100 * DOLLARS)
    return str(market.id), users[0], users[1]


async def _orders(market_id: str) -> dict[str, str]:
    async with connection() as conn:
        rows = await conn.execute(
            text("SELECT id, status FROM orders WHERE market_id = :m"), {"m": int(market_id)}
        )
        return {r.id: r.status for r in rows}


async def _reserved_matches_resting_holds(user_id: int) -> bool:
    async with connection() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT (SELECT balance FROM ledger_accounts WHERE user_id = :u "
                    "AND kind = 'user_reserved'), (SELECT coalesce(sum(held_cash), 0) FROM orders "
                    "WHERE user_id = :u AND status = 'resting')"
                ),
                {"u": user_id},
            )
        ).one()
    return bool(row[0] == row[1] and row[0] > 0)


@pytest.mark.parametrize("cold", [False, True], ids=["warm engine", "engine rebuilt each batch"])
async def test_a_re_formed_batch_answers_what_committed_and_trades_the_rest(
    stack: TestStack, cold: bool
) -> None:
    now = int(time.time() * 1_000_000)
    mid, alice, bob = await _setup()
    warm = EngineCache()

    def batch(no: int, *items: BatchItem) -> BatchInput:
        return BatchInput(market_id=mid, batch_no=no, now_us=now, items=list(items))

    async def run(no: int, *items: BatchItem) -> BatchOutput:
        return await apply_batch(batch(no, *items), EngineCache() if cold else warm)

    await run(1, BatchItem(kind="status", status="open"))
    bid = _place(alice, "buy", 400_000)
    first = await run(2, bid)
    assert first.results[0].orders[0].status == "resting"

    # Batch 2 again, re-formed with a new order that fills against the first.
    hit = _place(bob, "sell", 400_000)
    again = await run(2, bid, hit)
    assert [r.error_code for r in again.results] == [None, None]
    assert again.results[0].orders[0].id == bid.order_id
    assert again.results[1].orders[0].status == "filled"
    assert {c.order_id: c.status for c in again.changes} == {
        bid.order_id: "filled",
        hit.order_id: "filled",
    }
    assert await _orders(mid) == {bid.order_id: "filled", hit.order_id: "filled"}

    # A retry of the re-formed batch gets its own answer back; the first one is replaced.
    assert await run(2, bid, hit) == again

    # A cancel that committed, then re-formed with a new order: answered with the order.
    rest = _place(alice, "buy", 300_000)
    await run(3, rest)
    cancel = BatchItem(kind="cancel", order_id=rest.order_id, user_id=alice)
    cancelled = await run(4, cancel)
    assert cancelled.results[0].orders[0].status == "cancelled"
    late = _place(bob, "buy", 200_000)
    re_formed = await run(4, cancel, late)
    assert re_formed.results[0].error_code is None
    assert re_formed.results[0].orders[0].status == "cancelled"
    assert re_formed.results[1].orders[0].status == "resting"
    # Someone else's cancel of that order is still refused.
    other = BatchItem(kind="cancel", order_id=rest.order_id, user_id=bob)
    refused = await run(5, other)
    assert refused.results[0].error_code == "order_not_found"

    # Re-formed with the new order first: its hold is posted, though the first attempt's item 0
    # (the old order) posted one too.
    old = _place(alice, "buy", 100_000)
    await run(6, old)
    new = _place(alice, "buy", 110_000)
    await run(6, new, old)
    assert await _reserved_matches_resting_holds(alice)

    # The money adds up: nothing was charged twice.
    async with connection() as conn:
        assert (await reconcile(conn)).ok
        posted = await conn.execute(
            text(
                "SELECT idempotency_key FROM ledger_transactions WHERE market_id = :m "
                "AND idempotency_key LIKE :k"
            ),
            {"m": int(mid), "k": f"trade-batch:{mid}:2:%"},
        )
        keys = [k for (k,) in posted]
    # Batch 2's first attempt held Alice's cash for her bid (item 0); its re-formed attempt
    # posted only for Bob's new order (item 1), under keys of its own.
    first_keys = {k for k in keys if k.endswith(":0:hold")}
    assert len(first_keys) == 1
    assert all(k.split(":")[4] == "1" for k in keys if k not in first_keys)
