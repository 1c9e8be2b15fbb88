"""2,000 holders paid by a PayoutWorkflow that pages, heartbeats and continues as new, with
its progress visible in a query; paying again pays nobody twice."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text
from temporalio.client import Client

from core.db import connection, transaction
from core.names import TRADE_ENGINE, market_workflow_id, payout_workflow_id, task_queue
from models.ledger import AccountKind
from models.resolution import PayHoldersInput, PayoutState
from services.accounts.ledger import (
    NewTransaction,
    escrow_account,
    platform_account,
    post_transaction,
    reconcile,
)
from services.trading.markets import CreateMarketRequest, insert_market, workflow_state
from services.trading.resolution import pay_holders
from tests.helpers import register
from tests.resolution.helpers import DOLLARS, wait_for_status
from tests.trading.helpers import escrow_micros
from workflows.market import MarketWorkflow

HOLDERS = 2000


async def seed_holders(market_id: int) -> list[int]:
    """HOLDERS users, half holding 1 YES and half 1 NO, with their $1 pairs in escrow."""
    tag = uuid.uuid4().hex[:8]
    async with transaction() as conn:
        rows = await conn.execute(
            text(
                "INSERT INTO users (email, password_hash, display_name, role) "
                "SELECT 'holder-' || :tag || '-' || g || '@example.com', 'x', 'holder', 'client' "
                "FROM generate_series(1, :n) AS g RETURNING id"
            ),
            {"tag": tag, "n": HOLDERS},
        )
        ids = sorted(int(r[0]) for r in rows)
        await conn.execute(
            text(
                "INSERT INTO ledger_accounts (kind, user_id) "
                "SELECT k, u FROM unnest(CAST(:ids AS bigint[])) AS u, "
                "unnest(ARRAY['user_available', 'user_reserved']) AS k"
            ),
            {"ids": ids},
        )
        await conn.execute(
            text(
                "INSERT INTO positions (user_id, market_id, position, cost) "
                "SELECT u, :m, CASE WHEN i % 2 = 0 THEN 1 ELSE -1 END, 500000 "
                "FROM unnest(CAST(:ids AS bigint[])) WITH ORDINALITY AS t(u, i)"
            ),
            {"ids": ids, "m": market_id},
        )
        external = await platform_account(conn, AccountKind.EXTERNAL)
        escrow = await escrow_account(conn, market_id)
        await post_transaction(
            conn,
            NewTransaction(
                "trade",
                f"test-seed-escrow:{market_id}",
                [(external, -(HOLDERS // 2) * DOLLARS), (escrow, (HOLDERS // 2) * DOLLARS)],
                market_id=market_id,
            ),
        )
    return ids


async def test_two_thousand_holders_are_paid_in_pages_with_visible_progress(
    api: httpx.AsyncClient, temporal_client: Client
) -> None:
    admin = await register(api, admin=True)
    request = CreateMarketRequest(
        title="Will two thousand people be paid?",
        close_time=datetime.now(UTC) + timedelta(hours=1),
        dispute_window_seconds=1,
    )
    async with transaction() as conn:
        market = await insert_market(conn, request)
    mid = int(market.id)
    ids = await seed_holders(mid)
    state = workflow_state(market)
    state.config.trade_engine_queue = task_queue(TRADE_ENGINE)
    state.config.payout_holders_per_activity = 150
    state.config.payout_activities_per_run = 3
    await temporal_client.start_workflow(
        MarketWorkflow.run,
        state,
        id=market_workflow_id(str(mid)),
        task_queue=task_queue(TRADE_ENGINE),
    )
    await wait_for_status(api, str(mid), "open")

    resolved = await api.post(
        f"/v1/markets/{mid}/resolve", json={"outcome": "yes"}, headers=admin.headers
    )
    assert resolved.status_code == 200, resolved.text

    # Progress is visible while it pays (or at least once it has finished).
    payout = temporal_client.get_workflow_handle(
        payout_workflow_id(str(mid)), result_type=PayoutState
    )
    seen: list[int] = []
    while True:
        try:
            progress = await payout.query(PROGRESS_QUERY, result_type=PayoutState)
            seen.append(progress.holders_paid)
            if progress.finished:
                break
        except Exception:  # not started yet, or between runs
            pass
        if (await api.get(f"/v1/markets/{mid}")).json()["status"] == "settled":
            break
        await asyncio.sleep(0.2)
    assert seen == sorted(seen)
    final = await payout.result()
    assert final.holders_paid == HOLDERS
    assert final.amount_paid == (HOLDERS // 2) * DOLLARS
    assert final.runs >= 4  # 2,000 / 150 per activity / 3 per run
    await wait_for_status(api, str(mid), "settled")

    # A retried page finds nobody left to pay; the ledger paid each holder once.
    again = await pay_holders(
        PayHoldersInput(
            market_id=str(mid), outcome="yes", settlement_value=DOLLARS, after_user_id=0,
            max_holders=HOLDERS,
        ),
        None,
        lambda _: None,
    )  # fmt: skip
    assert again.holders_paid == 0 and again.done
    async with connection() as conn:
        payouts = await conn.execute(
            text(
                "SELECT count(*), count(DISTINCT user_id), coalesce(sum(amount), 0) FROM payouts "
                "WHERE market_id = :m"
            ),
            {"m": mid},
        )
        assert tuple(payouts.one()) == (HOLDERS, HOLDERS, (HOLDERS // 2) * DOLLARS)
        paid = await conn.execute(
            text(
                "SELECT count(*) FROM ledger_transactions WHERE kind = 'payout' AND market_id = :m"
            ),
            {"m": mid},
        )
        assert paid.scalar_one() == HOLDERS // 2  # NO holders got $0: no posting
        notified = await conn.execute(
            text("SELECT count(*) FROM notifications WHERE user_id = ANY(:ids)"), {"ids": ids}
        )
        assert notified.scalar_one() == HOLDERS
        assert (await reconcile(conn)).ok
    assert await escrow_micros(str(mid)) == 0


PROGRESS_QUERY = "progress"
