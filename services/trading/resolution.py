"""Resolution and payouts in the database: the market's resolution status, paying holders,
closing the escrow, disputes and the holders' notifications.

Every write here is idempotent: a holder is paid in the same transaction that zeroes their
position and records their payout row, and the ledger key `payout:<market>:<user>` refuses a
second payment even if a retry were to see the position again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from core.db import sql, transaction
from engine import MICRO
from models.ledger import AccountKind
from models.money import format_money, format_optional
from models.resolution import (
    FinishPayoutInput,
    FinishPayoutResult,
    PayHoldersInput,
    PayHoldersResult,
    PayoutProgress,
    RecordResolution,
)
from services.accounts.ledger import (
    NewTransaction,
    escrow_account,
    platform_account,
    post_transactions,
    user_accounts,
)
from services.trading.stream import MarketEventWriter

RESOLVED_KIND = "market_resolved"


def payout_amount(position: int, value: int) -> int:
    """A YES contract pays `value`, a NO contract 1 − `value` (engine/settlement.py)."""
    return position * value if position > 0 else -position * (MICRO - value)


def payout_key(market_id: int, who: int | str) -> str:
    return f"payout:{market_id}:{who}"


async def record_resolution(record: RecordResolution) -> None:
    """Write the market's resolution status and announce it on the market's stream."""
    market_id = int(record.market_id)
    async with transaction() as conn:
        before = (
            await conn.execute(
                sql(
                    "SELECT status, outcome, settlement_value FROM markets WHERE id = :m FOR UPDATE"
                ),
                {"m": market_id},
            )
        ).one()
        await conn.execute(
            sql(
                "UPDATE markets SET status = :s, outcome = :o, settlement_value = :v, "
                # Settled: every contract is paid and escrow is empty, so nothing is open.
                "open_interest = CASE WHEN :s = 'settled' THEN 0 ELSE open_interest END, "
                "updated_at = now() WHERE id = :m"
            ),
            {"s": record.status, "o": record.outcome, "v": record.settlement_value, "m": market_id},
        )
        # A retried activity finds the row already written and announces nothing twice.
        if tuple(before) != (record.status, record.outcome, record.settlement_value):
            events = MarketEventWriter(conn, market_id)
            events.add(
                "status",
                {
                    "status": record.status,
                    "outcome": record.outcome,
                    "settlement_value": format_optional(record.settlement_value),
                },
            )
            await events.flush()


async def pay_holders(
    request: PayHoldersInput,
    resume: PayoutProgress | None,
    heartbeat: Callable[[PayoutProgress], None],
) -> PayHoldersResult:
    """Pay up to `max_holders` holders after `after_user_id`, a chunk per transaction,
    reporting progress after each chunk (a retried attempt resumes from it)."""
    progress = resume or PayoutProgress(
        last_user_id=request.after_user_id, holders_paid=0, amount_paid=0
    )
    while progress.holders_paid < request.max_holders:
        limit = min(request.chunk, request.max_holders - progress.holders_paid)
        async with transaction() as conn:
            paid, amount, last = await _pay_chunk(conn, request, progress.last_user_id, limit)
        if paid == 0:
            return PayHoldersResult(
                last_user_id=progress.last_user_id,
                holders_paid=progress.holders_paid,
                amount_paid=progress.amount_paid,
                done=True,
            )
        progress = PayoutProgress(
            last_user_id=last,
            holders_paid=progress.holders_paid + paid,
            amount_paid=progress.amount_paid + amount,
        )
        heartbeat(progress)
    return PayHoldersResult(
        last_user_id=progress.last_user_id,
        holders_paid=progress.holders_paid,
        amount_paid=progress.amount_paid,
        done=False,
    )


async def _pay_chunk(
    conn: AsyncConnection, request: PayHoldersInput, after: int, limit: int
) -> tuple[int, int, int]:
    market_id = int(request.market_id)
    value = request.settlement_value
    holders = (
        await conn.execute(
            sql(
                "SELECT user_id, position, cost, realized_pnl FROM positions "
                "WHERE market_id = :m AND position <> 0 AND user_id > :after "
                "ORDER BY user_id LIMIT :limit FOR UPDATE"
            ),
            {"m": market_id, "after": after, "limit": limit},
        )
    ).all()
    if not holders:
        return 0, 0, after
    title = (
        await conn.execute(sql("SELECT title FROM markets WHERE id = :m"), {"m": market_id})
    ).scalar_one()
    escrow = await escrow_account(conn, market_id)
    accounts = await user_accounts(conn, [int(h.user_id) for h in holders])
    transactions = []
    payouts = []
    notifications = []
    total = 0
    for h in holders:
        uid, position = int(h.user_id), int(h.position)
        amount = payout_amount(position, value)
        pnl = amount - int(h.cost)
        total += amount
        if amount:
            transactions.append(
                NewTransaction(
                    kind="payout",
                    idempotency_key=payout_key(market_id, uid),
                    legs=[(escrow, -amount), (accounts[uid].available, amount)],
                    user_id=uid,
                    market_id=market_id,
                    memo={"position": position, "settlement_value": value},
                )
            )
        payouts.append(
            {"m": market_id, "u": uid, "pos": position, "v": value, "a": amount, "pnl": pnl}
        )
        notifications.append(
            _notification(uid, market_id, title, request.outcome, value, position, amount, pnl)
        )
    await post_transactions(conn, transactions)
    await conn.execute(
        sql(
            "INSERT INTO payouts (market_id, user_id, position, settlement_value, amount, "
            "realized_pnl) VALUES (:m, :u, :pos, :v, :a, :pnl) ON CONFLICT DO NOTHING"
        ),
        payouts,
    )
    await conn.execute(
        sql(
            "UPDATE positions SET realized_pnl = realized_pnl + :pnl, cost = 0, position = 0, "
            "updated_at = now() WHERE market_id = :m AND user_id = :u"
        ),
        payouts,
    )
    await conn.execute(
        sql(
            "INSERT INTO notifications (user_id, kind, title, body, data) "
            "VALUES (:u, :kind, :title, :body, CAST(:data AS jsonb))"
        ),
        notifications,
    )
    return len(holders), total, int(holders[-1].user_id)


def _notification(
    user_id: int,
    market_id: int,
    title: str,
    outcome: str,
    value: int,
    position: int,
    amount: int,
    pnl: int,
) -> dict[str, Any]:
    side = "YES" if position > 0 else "NO"
    shown = outcome.upper() if outcome != "scalar" else f"at {format_money(value)}"
    return {
        "u": user_id,
        "kind": RESOLVED_KIND,
        "title": f"Resolved {shown}: {title}",
        "body": (
            f"Your {abs(position)} {side} contracts paid ${format_money(amount)} "
            f"(realized P&L ${format_money(pnl)})."
        ),
        "data": json.dumps(
            {
                "market_id": str(market_id),
                "outcome": outcome,
                "settlement_value": format_money(value),
                "side": side.lower(),
                "count": abs(position),
                "payout": format_money(amount),
                "realized_pnl": format_money(pnl),
            }
        ),
    }


async def finish_payout(request: FinishPayoutInput) -> FinishPayoutResult:
    """After every holder: the AMM's contracts pay into the market-maker account and whatever
    rounding left in escrow goes to fees, so escrow ends at exactly zero."""
    market_id = int(request.market_id)
    async with transaction() as conn:
        market = (
            await conn.execute(
                sql("SELECT amm_position FROM markets WHERE id = :m FOR UPDATE"),
                {"m": market_id},
            )
        ).one()
        left = (
            await conn.execute(
                sql("SELECT count(*) FROM positions WHERE market_id = :m AND position <> 0"),
                {"m": market_id},
            )
        ).scalar_one()
        if left:
            raise RuntimeError(f"market {market_id} still has {left} unpaid holders")
        escrow = await escrow_account(conn, market_id)
        amm = payout_amount(int(market.amm_position), request.settlement_value)
        if amm:
            maker = await platform_account(conn, AccountKind.PLATFORM_MARKET_MAKER)
            await post_transactions(
                conn,
                [
                    NewTransaction(
                        kind="payout",
                        idempotency_key=payout_key(market_id, "amm"),
                        legs=[(escrow, -amm), (maker, amm)],
                        market_id=market_id,
                        memo={"position": int(market.amm_position), "amm": True},
                    )
                ],
            )
            await conn.execute(
                sql("UPDATE markets SET amm_cash = amm_cash + :a, amm_position = 0 WHERE id = :m"),
                {"a": amm, "m": market_id},
            )
        balance = (
            await conn.execute(
                sql("SELECT balance FROM ledger_accounts WHERE id = :a"), {"a": escrow}
            )
        ).scalar_one()
        remainder = int(balance)
        if remainder:
            fees = await platform_account(conn, AccountKind.PLATFORM_FEES)
            await post_transactions(
                conn,
                [
                    NewTransaction(
                        kind="fee",
                        idempotency_key=payout_key(market_id, "remainder"),
                        legs=[(escrow, -remainder), (fees, remainder)],
                        market_id=market_id,
                        memo={"settlement_remainder": True},
                    )
                ],
            )
        return FinishPayoutResult(amm_payout=amm, remainder_to_fees=remainder)


# ---------------------------------------------------------------- reads for the API


async def is_holder(conn: AsyncConnection, market_id: int, user_id: int) -> bool:
    row = await conn.execute(
        sql("SELECT 1 FROM positions WHERE market_id = :m AND user_id = :u AND position <> 0"),
        {"m": market_id, "u": user_id},
    )
    return row.first() is not None


async def insert_dispute(
    conn: AsyncConnection, market_id: int, user_id: int, reason: str, proposed_value: int
) -> Any:
    return (
        await conn.execute(
            sql(
                "INSERT INTO market_disputes (market_id, user_id, reason, proposed_value) "
                "VALUES (:m, :u, :r, :v) RETURNING id, market_id, user_id, reason, created_at"
            ),
            {"m": market_id, "u": user_id, "r": reason, "v": proposed_value},
        )
    ).one()
