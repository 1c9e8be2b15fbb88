"""Deposits and withdrawals in the database: their records and their ledger postings.

Each posting carries a business idempotency key (`deposit:<id>:credit`, `withdrawal:<id>:hold`,
`withdrawal:<id>:settle`, `withdrawal:<id>:release`), and each status change locks the payment
row and checks where it stands, so a retried activity never moves money twice and a payment
can never be both settled and released.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from core.db import sql
from models.ledger import AccountKind
from models.payments import PaymentKind, PaymentStatus
from services.accounts.ledger import (
    NewTransaction,
    platform_account,
    post_transaction,
    user_accounts,
)


class IdempotencyConflictError(Exception):
    """The idempotency key was used before for a different request."""


class PaymentStateError(Exception):
    """The payment is already settled the other way (e.g. completing a failed payment)."""


@dataclass(frozen=True, slots=True)
class Payment:
    id: int
    kind: str
    user_id: int
    amount: int
    status: str
    idempotency_key: str | None
    gateway_reference: str | None
    failure_reason: str | None
    created_at: datetime
    updated_at: datetime


_COLUMNS = (
    "id, kind, user_id, amount, status, idempotency_key, gateway_reference, failure_reason, "
    "created_at, updated_at"
)


def ledger_key(kind: PaymentKind, payment_id: int, step: str) -> str:
    return f"{kind.value}:{payment_id}:{step}"


async def get_payment(
    conn: AsyncConnection, payment_id: int, *, for_update: bool = False
) -> Payment | None:
    lock = " FOR UPDATE" if for_update else ""
    row = (
        await conn.execute(
            sql(f"SELECT {_COLUMNS} FROM payments WHERE id = :id{lock}"), {"id": payment_id}
        )
    ).one_or_none()
    return Payment(*row) if row else None


async def get_user_payment(
    conn: AsyncConnection, user_id: int, kind: PaymentKind, payment_id: int
) -> Payment | None:
    """The user's own payment of that kind; None for anyone else's (no existence leak)."""
    payment = await get_payment(conn, payment_id)
    if payment is None or payment.user_id != user_id or payment.kind != kind.value:
        return None
    return payment


async def list_user_payments(
    conn: AsyncConnection, user_id: int, kind: PaymentKind, *, limit: int, before_id: int | None
) -> list[Payment]:
    rows = await conn.execute(
        sql(
            f"SELECT {_COLUMNS} FROM payments WHERE user_id = :u AND kind = :k "
            "AND (CAST(:before AS bigint) IS NULL OR id < :before) ORDER BY id DESC LIMIT :limit"
        ),
        {"u": user_id, "k": kind.value, "before": before_id, "limit": limit},
    )
    return [Payment(*row) for row in rows]


async def create_payment(
    conn: AsyncConnection,
    *,
    kind: PaymentKind,
    user_id: int,
    amount: int,
    idempotency_key: str | None,
) -> tuple[Payment, bool]:
    """Record a pending payment, or return the one recorded under the same idempotency key
    (created=False). A withdrawal holds its amount (available -> reserved) in the same database
    transaction, so the hold and the record commit together or not at all; LedgerError
    `insufficient_funds` when the available cash is short."""
    row = (
        await conn.execute(
            sql(
                "INSERT INTO payments (kind, user_id, amount, idempotency_key) "
                "VALUES (:k, :u, :a, :key) ON CONFLICT (user_id, kind, idempotency_key) "
                f"DO NOTHING RETURNING {_COLUMNS}"
            ),
            {"k": kind.value, "u": user_id, "a": amount, "key": idempotency_key},
        )
    ).one_or_none()
    if row is None:
        existing = (
            await conn.execute(
                sql(
                    f"SELECT {_COLUMNS} FROM payments "
                    "WHERE user_id = :u AND kind = :k AND idempotency_key = :key"
                ),
                {"u": user_id, "k": kind.value, "key": idempotency_key},
            )
        ).one()
        payment = Payment(*existing)
        if payment.amount != amount:
            raise IdempotencyConflictError(
                f"idempotency_key {idempotency_key!r} was used for a different amount"
            )
        return payment, False
    payment = Payment(*row)
    if kind is PaymentKind.WITHDRAWAL:
        await hold_withdrawal(conn, payment)
    return payment, True


async def hold_withdrawal(conn: AsyncConnection, payment: Payment) -> None:
    accounts = (await user_accounts(conn, [payment.user_id]))[payment.user_id]
    await post_transaction(
        conn,
        NewTransaction(
            "withdrawal_hold",
            ledger_key(PaymentKind.WITHDRAWAL, payment.id, "hold"),
            [(accounts.available, -payment.amount), (accounts.reserved, payment.amount)],
            user_id=payment.user_id,
            memo={"payment_id": payment.id},
        ),
    )


async def record_gateway_reference(conn: AsyncConnection, payment_id: int, reference: str) -> None:
    await conn.execute(
        sql(
            "UPDATE payments SET gateway_reference = :r, updated_at = now() "
            "WHERE id = :id AND gateway_reference IS DISTINCT FROM :r"
        ),
        {"id": payment_id, "r": reference},
    )


async def _lock_pending(conn: AsyncConnection, payment_id: int, target: PaymentStatus) -> Payment:
    payment = await get_payment(conn, payment_id, for_update=True)
    if payment is None:
        raise PaymentStateError(f"payment {payment_id} does not exist")
    if payment.status not in (PaymentStatus.PENDING.value, target.value):
        raise PaymentStateError(f"payment {payment_id} is already {payment.status}")
    return payment


async def _set_status(
    conn: AsyncConnection, payment_id: int, status: PaymentStatus, reason: str | None = None
) -> None:
    await conn.execute(
        sql(
            "UPDATE payments SET status = :s, failure_reason = :r, updated_at = now() "
            "WHERE id = :id"
        ),
        {"id": payment_id, "s": status.value, "r": reason},
    )


async def complete_payment(conn: AsyncConnection, payment_id: int) -> Payment:
    """The gateway confirmed: credit a deposit (external -> available) or settle a withdrawal
    (reserved -> external). Idempotent."""
    payment = await _lock_pending(conn, payment_id, PaymentStatus.COMPLETED)
    if payment.status == PaymentStatus.COMPLETED.value:
        return payment
    kind = PaymentKind(payment.kind)
    external = await platform_account(conn, AccountKind.EXTERNAL)
    accounts = (await user_accounts(conn, [payment.user_id]))[payment.user_id]
    if kind is PaymentKind.DEPOSIT:
        legs = [(external, -payment.amount), (accounts.available, payment.amount)]
        key = ledger_key(kind, payment.id, "credit")
    else:
        legs = [(accounts.reserved, -payment.amount), (external, payment.amount)]
        key = ledger_key(kind, payment.id, "settle")
    await post_transaction(
        conn,
        NewTransaction(
            kind.value, key, legs, user_id=payment.user_id, memo={"payment_id": payment.id}
        ),
    )
    await _set_status(conn, payment.id, PaymentStatus.COMPLETED)
    return await _lock_pending(conn, payment_id, PaymentStatus.COMPLETED)


async def fail_payment(conn: AsyncConnection, payment_id: int, reason: str) -> Payment:
    """The gateway declined or never answered: mark the payment failed and, for a withdrawal,
    release its hold (reserved -> available). Idempotent."""
    payment = await _lock_pending(conn, payment_id, PaymentStatus.FAILED)
    if payment.status == PaymentStatus.FAILED.value:
        return payment
    if payment.kind == PaymentKind.WITHDRAWAL.value:
        accounts = (await user_accounts(conn, [payment.user_id]))[payment.user_id]
        await post_transaction(
            conn,
            NewTransaction(
                "withdrawal_release",
                ledger_key(PaymentKind.WITHDRAWAL, payment.id, "release"),
                [(accounts.reserved, -payment.amount), (accounts.available, payment.amount)],
                user_id=payment.user_id,
                memo={"payment_id": payment.id, "reason": reason},
            ),
        )
    await _set_status(conn, payment.id, PaymentStatus.FAILED, reason)
    return await _lock_pending(conn, payment_id, PaymentStatus.FAILED)
