"""The transactional outbox: notifications and invoices a trade batch causes, written in the
batch's own transaction (so they exist exactly when the trade does), under the source
`batch:<market>:<batch>` and marked for the notification relay, the standing workflow that
delivers every batch's notifications (workflows/notifications.py).

Rejected orders are answered synchronously (409) and never reach the outbox.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from core.db import sql
from engine import AMM_USER_ID, Fill, OrderState, OrderStatus
from models.money import format_money, format_optional
from services.accounts.ledger import Wallet
from services.notifications.alerts import evaluate_price_alerts


class BatchChanges(Protocol):
    """What services/trading/batches.py's BatchWork offers (read only)."""

    now: datetime
    states: dict[str, OrderState]
    new_orders: dict[str, Any]
    fills: list[Fill]


def batch_source(market_id: int | str, batch_no: int) -> str:
    return f"batch:{market_id}:{batch_no}"


@dataclass
class NewNotification:
    user_id: int
    kind: str
    title: str
    body: str
    data: dict[str, Any] = field(default_factory=dict)


async def insert_notifications(
    conn: AsyncConnection,
    source: str,
    notes: Iterable[NewNotification],
    now: datetime | None = None,
    relay: bool = False,
) -> int:
    """Store notifications under `source`; `relay` hands them to the standing relay workflow
    (trade batches) instead of the source's own delivery workflow."""
    rows = [
        {
            "u": n.user_id,
            "k": n.kind,
            "t": n.title,
            "b": n.body,
            "d": json.dumps(n.data),
            "s": source,
            "now": now,
            "r": relay,
        }
        for n in notes
    ]
    if rows:
        await conn.execute(
            sql(
                "INSERT INTO notifications "
                "(user_id, kind, title, body, data, source, created_at, relay) "
                "VALUES (:u, :k, :t, :b, CAST(:d AS jsonb), :s, coalesce(:now, now()), :r)"
            ),
            rows,
        )
    return len(rows)


@dataclass
class _Execution:
    """One order's fills in this batch, from its owner's point of view."""

    user_id: int
    lines: list[dict[str, Any]] = field(default_factory=list)
    subtotal: int = 0
    fees: int = 0
    cash_change: int = 0  # signed: negative when the user paid
    count: int = 0


def _executions(fills: list[Fill]) -> dict[str, _Execution]:
    found: dict[str, _Execution] = {}
    for f in fills:
        for taker in (True, False):
            user = f.taker_user_id if taker else f.maker_user_id
            order_id = f.taker_order_id if taker else f.maker_order_id
            if user == AMM_USER_ID or order_id is None:
                continue
            ex = found.setdefault(order_id, _Execution(user_id=int(user)))
            side = (f.taker_side if taker else f.maker_side).value
            price = f.taker_price if taker else f.maker_price
            fee = f.taker_fee if taker else f.maker_fee
            opened = f.taker_opened if taker else f.maker_opened
            closed = f.taker_closed if taker else f.maker_closed
            fill_id = f"{f.trade_id}:{'t' if taker else 'm'}"
            # A fill may close one position and open another: one line for each part.
            parts = [("sell", closed), ("buy", opened)] if closed else [("buy", opened)]
            for i, (action, count) in enumerate(p for p in parts if p[1]):
                amount = count * price
                line_fee = fee if i == 0 else 0
                ex.lines.append(
                    {
                        "fill_id": fill_id,
                        "action": action,
                        "side": side,
                        "count": count,
                        "price": format_money(price),
                        "amount": format_money(amount),
                        "fee": format_money(line_fee),
                    }
                )
                ex.subtotal += amount
                ex.cash_change += amount if action == "sell" else -amount
            ex.fees += fee
            ex.cash_change -= fee
            ex.count += f.count
    return found


async def _total_cash(conn: AsyncConnection, users: Iterable[int]) -> dict[int, int]:
    rows = await conn.execute(
        sql(
            "SELECT user_id, sum(balance) FROM ledger_accounts WHERE user_id = ANY(:u) "
            "AND kind IN ('user_available', 'user_reserved') GROUP BY user_id"
        ),
        {"u": sorted(set(users))},
    )
    return {int(u): int(b) for u, b in rows}


async def _write_invoices(
    conn: AsyncConnection,
    market_id: int,
    batch_no: int,
    executions: dict[str, _Execution],
    wallets: dict[int, Wallet],
    now: datetime,
) -> dict[str, tuple[int, str]]:
    """Invoice rows; returns order id -> (invoice id, number)."""
    if not executions:
        return {}
    rows = [
        {
            "u": ex.user_id,
            "m": market_id,
            "o": order_id,
            "b": batch_no,
            "lines": json.dumps(ex.lines),
            "sub": ex.subtotal,
            "fees": ex.fees,
            "cash": ex.cash_change,
            "bal": wallets[ex.user_id].total,
            "now": now,
        }
        for order_id, ex in executions.items()
    ]
    result = await conn.execute(
        sql(
            """
            INSERT INTO invoices (number, user_id, market_id, order_id, batch_no, lines,
                subtotal, fees, cash_change, balance_after, created_at)
            SELECT 'INV-' || to_char(r.now, 'YYYY') || '-'
                    || lpad(nextval('invoice_numbers')::text, 8, '0'),
                r.u, r.m, r.o, r.b, CAST(r.lines AS jsonb), r.sub, r.fees, r.cash, r.bal, r.now
            FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(u bigint, m bigint, o text,
                b bigint, lines text, sub bigint, fees bigint, cash bigint, bal bigint,
                now timestamptz)
            RETURNING id, order_id, number
            """
        ),
        {"rows": json.dumps([{**r, "now": now.isoformat()} for r in rows])},
    )
    return {order_id: (int(i), number) for i, order_id, number in result}


def _describe(state: OrderState) -> str:
    return f"{state.action.value} {state.count} {state.side.value.upper()}"


def _order_notification(
    state: OrderState,
    is_new: bool,
    execution: _Execution | None,
    invoice: tuple[int, str] | None,
    market: Any,
) -> NewNotification | None:
    what = _describe(state)
    title_market = market.title
    data: dict[str, Any] = {
        "market_id": str(market.id),
        "order_id": state.order_id,
        "status": state.status.value,
        "count": state.count,
        "filled_count": state.filled_count,
        "remaining_count": state.remaining_count,
        "avg_fill_price": format_optional(state.avg_fill_price),
        "fees": format_money(state.fees_paid),
        "reason": state.reason,
    }
    if execution is not None:
        data["filled_now"] = execution.count
        if invoice is not None:
            data["invoice_id"], data["invoice_number"] = str(invoice[0]), invoice[1]
        avg = format_optional(state.avg_fill_price)
        if state.status is OrderStatus.FILLED:
            kind, title = "order_filled", f"Filled: {what} at {avg} avg"
            body = f"Your order on {title_market} is filled ({state.filled_count} contracts)."
        else:
            kind = "order_partially_filled"
            title = f"Partially filled: {state.filled_count} of {what}"
            tail = (
                f"{state.remaining_count} still resting."
                if state.status is OrderStatus.RESTING
                else f"the rest is {state.status.value}."
            )
            body = f"{execution.count} contracts filled on {title_market}; {tail}"
        return NewNotification(int(state.user_id), kind, title, body, data)
    if state.status is OrderStatus.RESTING and is_new:
        return NewNotification(
            int(state.user_id),
            "order_accepted",
            f"Order accepted: {what}",
            f"Your order on {title_market} is resting on the book.",
            data,
        )
    if state.status in (OrderStatus.CANCELLED, OrderStatus.EXPIRED):
        kind = "order_cancelled" if state.status is OrderStatus.CANCELLED else "order_expired"
        word = state.status.value
        return NewNotification(
            int(state.user_id),
            kind,
            f"Order {word}: {what}",
            f"Your order on {title_market} was {word}"
            + (f" ({state.reason})." if state.reason else ".")
            + (f" {state.filled_count} had filled." if state.filled_count else ""),
            data,
        )
    return None


async def record_batch_notifications(
    conn: AsyncConnection,
    market: Any,
    batch_no: int,
    work: BatchChanges,
    wallets: dict[int, Wallet],
    significant_move: dict[str, Any] | None = None,
) -> int:
    """Order confirmations, invoices, fired price alerts and significant-move notices of one
    batch, in its transaction; `wallets` are the users' balances after the batch. Returns how
    many notifications it recorded."""
    market_id = int(market.id)
    source = batch_source(market_id, batch_no)
    executions = _executions(work.fills)
    invoices = await _write_invoices(conn, market_id, batch_no, executions, wallets, work.now)
    notes: list[NewNotification] = []
    for state in work.states.values():
        if state.user_id == AMM_USER_ID:
            continue
        note = _order_notification(
            state,
            state.order_id in work.new_orders,
            executions.get(state.order_id),
            invoices.get(state.order_id),
            market,
        )
        if note is not None:
            notes.append(note)
    if work.fills:
        notes += await evaluate_price_alerts(conn, market, work.fills, work.now)
    recorded = await insert_notifications(conn, source, notes, work.now, relay=True)
    if significant_move is not None:
        recorded += await _notify_holders_of_move(conn, market, source, significant_move, work)
    return recorded


async def _notify_holders_of_move(
    conn: AsyncConnection, market: Any, source: str, move: dict[str, Any], work: BatchChanges
) -> int:
    """The platform's `significant_move` alert to every holder, in one statement."""
    title = f"{market.title}: {move['direction']} {move['change']}"
    body = (
        f"The YES price moved from {move['from']} to {move['to']} "
        f"within {int(move['window_seconds'])} seconds."
    )
    data = {"market_id": str(market.id), **move}
    result = await conn.execute(
        sql(
            "INSERT INTO notifications "
            "(user_id, kind, title, body, data, source, created_at, relay) "
            "SELECT user_id, 'significant_move', :t, :b, CAST(:d AS jsonb), :s, :now, true "
            "FROM positions WHERE market_id = :m AND position <> 0"
        ),
        {
            "t": title,
            "b": body,
            "d": json.dumps(data),
            "s": source,
            "m": market.id,
            "now": work.now,
        },
    )
    return int(result.rowcount or 0)


# ---------------------------------------------------------------- resolution


def payout_source(market_id: int | str, after_user_id: int) -> str:
    return f"payout:{market_id}:{after_user_id}"


def resolved_source(market_id: int | str) -> str:
    return f"resolved:{market_id}"


async def claim_payout_notifications(
    conn: AsyncConnection, market_id: int, after_user_id: int, last_user_id: int
) -> str:
    """Put a payout page's `market_resolved` notices (written by services/trading/resolution)
    under the page's source, for its delivery workflow. Idempotent."""
    source = payout_source(market_id, after_user_id)
    await conn.execute(
        sql(
            "UPDATE notifications SET source = :s WHERE user_id > :after AND user_id <= :last "
            "AND source IS NULL AND kind = 'market_resolved' AND data->>'market_id' = :m"
        ),
        {"s": source, "after": after_user_id, "last": last_user_id, "m": str(market_id)},
    )
    return source


# ---------------------------------------------------------------- payments


def payment_source(payment_id: int) -> str:
    return f"payment:{payment_id}"


async def record_payment_receipt(conn: AsyncConnection, payment: Any) -> str | None:
    """A deposit's or withdrawal's receipt (completed) or notice (failed), once per payment,
    in the transaction that settles it. Returns the source to deliver, None while pending."""
    if payment.status not in ("completed", "failed"):
        return None
    source = payment_source(int(payment.id))
    cash = await _total_cash(conn, [int(payment.user_id)])
    amount = format_money(int(payment.amount))
    kind = f"{payment.kind}_{payment.status}"
    if payment.status == "completed":
        title = f"Receipt RCT-{int(payment.id):08d}: {payment.kind} of ${amount}"
        body = f"Your {payment.kind} of ${amount} is complete."
    else:
        title = f"Your {payment.kind} of ${amount} failed"
        body = f"Your {payment.kind} of ${amount} failed: {payment.failure_reason or 'declined'}."
    await conn.execute(
        sql(
            "INSERT INTO notifications (user_id, kind, title, body, data, source) "
            "SELECT :u, :k, :t, :b, CAST(:d AS jsonb), :s WHERE NOT EXISTS "
            "(SELECT 1 FROM notifications WHERE source = :s)"
        ),
        {
            "u": int(payment.user_id),
            "k": kind,
            "t": title,
            "b": body,
            "s": source,
            "d": json.dumps(
                {
                    "payment_id": str(payment.id),
                    "receipt_number": f"RCT-{int(payment.id):08d}",
                    "amount": amount,
                    "status": payment.status,
                    "reason": payment.failure_reason,
                    "balance_after": format_money(cash.get(int(payment.user_id), 0)),
                }
            ),
        },
    )
    return source
