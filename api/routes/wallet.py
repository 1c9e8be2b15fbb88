"""The caller's wallet: balances, history, deposits and withdrawals (API.md "Users and
wallets"), and the payment gateway's callback."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import ValidationError
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from activities.payments import payment_workflow_id, signal_gateway_event
from api.deps import CurrentUser, TemporalClient
from api.errors import ApiError
from api.routes.pagination import Cursor, Limit, cursor_id, path_id
from core.config import get_settings
from core.db import connection, transaction
from core.names import ACCOUNTS, ORCHESTRATOR, task_queue
from models.money import format_money, parse_money
from models.payments import GatewayEvent, PaymentKind, PaymentStatus, PaymentWorkflowInput
from services.accounts import payments as payment_service
from services.accounts.gateway import SIGNATURE_HEADER, verify_callback
from services.accounts.ledger import LedgerError
from services.accounts.schemas import (
    PaymentCreate,
    PaymentList,
    PaymentPublic,
    TransactionList,
    TransactionPublic,
    WalletPublic,
)
from services.accounts.wallet import history, wallet
from workflows.payments import DepositWorkflow, WithdrawalWorkflow

log = logging.getLogger(__name__)

router = APIRouter(tags=["wallet"])


@router.get("/v1/me/wallet", response_model=WalletPublic)
async def my_wallet(user: CurrentUser) -> WalletPublic:
    async with connection() as conn:
        found = await wallet(conn, user.id)
    return WalletPublic(available=found.available, reserved=found.reserved, total=found.total)


@router.get("/v1/me/transactions", response_model=TransactionList)
async def my_transactions(
    user: CurrentUser,
    limit: Limit = 50,
    cursor: Cursor = None,
    kind: Annotated[str | None, Query(max_length=40, description="deposit, trade, ...")] = None,
    market_id: Annotated[str | None, Query(max_length=19)] = None,
) -> TransactionList:
    """What changed the caller's cash, newest first. `amount` is the change of total cash
    (available + reserved) and `balance_after` the total after it; moves between available
    and reserved (order and withdrawal holds) change neither and are not listed."""
    if market_id is not None and not market_id.isdigit():
        raise ApiError("invalid_request", "market_id must be a market id")
    async with connection() as conn:
        lines = await history(
            conn,
            user.id,
            limit=limit + 1,
            before_id=cursor_id(cursor),
            kind=kind,
            market_id=int(market_id) if market_id else None,
        )
    page = lines[:limit]
    return TransactionList(
        items=[
            TransactionPublic(
                id=str(line.id),
                kind=line.kind,
                amount=line.amount,
                balance_after=line.balance_after,
                market_id=None if line.market_id is None else str(line.market_id),
                order_id=line.order_id,
                created_at=line.created_at,
            )
            for line in page
        ],
        next_cursor=str(page[-1].id) if len(lines) > limit else None,
    )


# --- deposits and withdrawals ------------------------------------------------------------


def _public(payment: payment_service.Payment) -> PaymentPublic:
    return PaymentPublic(
        id=str(payment.id),
        amount=payment.amount,
        status=PaymentStatus(payment.status).value,
        failure_reason=payment.failure_reason,
        idempotency_key=payment.idempotency_key,
        created_at=payment.created_at,
        updated_at=payment.updated_at,
    )


def _check_limits(kind: PaymentKind, amount: int) -> None:
    settings = get_settings()
    if kind is PaymentKind.DEPOSIT:
        low, high = settings.deposit_min_amount, settings.deposit_max_amount
    else:
        low, high = settings.withdrawal_min_amount, settings.withdrawal_max_amount
    low_micros, high_micros = parse_money(low, decimals=2), parse_money(high, decimals=2)
    if not low_micros <= amount <= high_micros:
        raise ApiError(
            "invalid_request",
            f"a {kind.value} must be between {format_money(low_micros)} and "
            f"{format_money(high_micros)}",
            details={"min": format_money(low_micros), "max": format_money(high_micros)},
        )


async def _start_workflow(client: Client, payment: payment_service.Payment) -> None:
    """Start the payment's workflow; a repeat (same id, running or finished) is a no-op."""
    workflow = DepositWorkflow if payment.kind == PaymentKind.DEPOSIT.value else WithdrawalWorkflow
    try:
        await client.start_workflow(
            workflow.run,
            PaymentWorkflowInput(
                payment_id=payment.id,
                user_id=payment.user_id,
                amount=payment.amount,
                confirmation_timeout_seconds=get_settings().payments_confirmation_timeout_seconds,
                accounts_task_queue=task_queue(ACCOUNTS),
            ),
            id=payment_workflow_id(PaymentKind(payment.kind), payment.id),
            task_queue=task_queue(ORCHESTRATOR),
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            memo={"user_id": str(payment.user_id), "amount": format_money(payment.amount)},
        )
    except WorkflowAlreadyStartedError:
        pass


async def _create(
    kind: PaymentKind, user_id: int, body: PaymentCreate, client: Client, response: Response
) -> PaymentPublic:
    _check_limits(kind, body.amount)
    try:
        async with transaction() as conn:
            payment, created = await payment_service.create_payment(
                conn,
                kind=kind,
                user_id=user_id,
                amount=body.amount,
                idempotency_key=body.idempotency_key,
            )
    except payment_service.IdempotencyConflictError as exc:
        raise ApiError("conflict", str(exc)) from exc
    except LedgerError as exc:
        if exc.code != "insufficient_funds":
            raise
        raise ApiError("insufficient_funds", "the amount exceeds your available balance") from exc
    if payment.status == PaymentStatus.PENDING.value:
        try:
            await _start_workflow(client, payment)
        except RPCError as exc:
            # No workflow will ever move this payment: fail it now (releasing a hold).
            log.exception("could not start the workflow of %s %s", kind.value, payment.id)
            async with transaction() as conn:
                await payment_service.fail_payment(conn, payment.id, "not_started")
            raise ApiError("unavailable", "payments are unavailable; try again later") from exc
    response.status_code = 201 if created else 200
    return _public(payment)


async def _get(kind: PaymentKind, user_id: int, payment_id: str) -> PaymentPublic:
    async with connection() as conn:
        payment = await payment_service.get_user_payment(
            conn, user_id, kind, path_id(payment_id, kind.value)
        )
    if payment is None:
        raise ApiError("not_found", f"no such {kind.value}")
    return _public(payment)


async def _list(kind: PaymentKind, user_id: int, limit: int, cursor: str | None) -> PaymentList:
    async with connection() as conn:
        found = await payment_service.list_user_payments(
            conn, user_id, kind, limit=limit + 1, before_id=cursor_id(cursor)
        )
    page = found[:limit]
    return PaymentList(
        items=[_public(p) for p in page],
        next_cursor=str(page[-1].id) if len(found) > limit else None,
    )


_CREATED: dict[int | str, dict[str, Any]] = {
    200: {"description": "The deposit/withdrawal made earlier with this idempotency_key"}
}


@router.post("/v1/me/deposits", status_code=201, response_model=PaymentPublic, responses=_CREATED)
async def create_deposit(
    user: CurrentUser, body: PaymentCreate, client: TemporalClient, response: Response
) -> PaymentPublic:
    """Start a deposit (workflow `deposit-<id>`): pending until the gateway confirms, then the
    wallet is credited (completed) or nothing happens (failed)."""
    return await _create(PaymentKind.DEPOSIT, user.id, body, client, response)


@router.get("/v1/me/deposits", response_model=PaymentList)
async def list_deposits(user: CurrentUser, limit: Limit = 50, cursor: Cursor = None) -> PaymentList:
    return await _list(PaymentKind.DEPOSIT, user.id, limit, cursor)


@router.get("/v1/me/deposits/{deposit_id}", response_model=PaymentPublic)
async def get_deposit(user: CurrentUser, deposit_id: str) -> PaymentPublic:
    return await _get(PaymentKind.DEPOSIT, user.id, deposit_id)


@router.post(
    "/v1/me/withdrawals", status_code=201, response_model=PaymentPublic, responses=_CREATED
)
async def create_withdrawal(
    user: CurrentUser, body: PaymentCreate, client: TemporalClient, response: Response
) -> PaymentPublic:
    """Start a withdrawal (workflow `withdrawal-<id>`): the amount is held at once (409
    insufficient_funds beyond the available balance), then paid out (completed) or released
    back to available (failed)."""
    return await _create(PaymentKind.WITHDRAWAL, user.id, body, client, response)


@router.get("/v1/me/withdrawals", response_model=PaymentList)
async def list_withdrawals(
    user: CurrentUser, limit: Limit = 50, cursor: Cursor = None
) -> PaymentList:
    return await _list(PaymentKind.WITHDRAWAL, user.id, limit, cursor)


@router.get("/v1/me/withdrawals/{withdrawal_id}", response_model=PaymentPublic)
async def get_withdrawal(user: CurrentUser, withdrawal_id: str) -> PaymentPublic:
    return await _get(PaymentKind.WITHDRAWAL, user.id, withdrawal_id)


@router.post("/v1/payments/sandbox/callback", tags=["payments"])
async def sandbox_callback(
    request: Request,
    client: TemporalClient,
    signature: Annotated[str | None, Header(alias=SIGNATURE_HEADER)] = None,
) -> dict[str, str]:
    """Where the sandbox gateway reports a payment's outcome (signed with an HMAC of the body).
    The event goes to the payment's workflow; repeats are acknowledged and change nothing."""
    body = await request.body()
    if not verify_callback(body, signature):
        raise ApiError("unauthorized", "bad or missing callback signature")
    try:
        event = GatewayEvent.model_validate_json(body)
    except ValidationError as exc:
        raise ApiError("invalid_request", "not a gateway event") from exc
    async with connection() as conn:
        payment = await payment_service.get_payment(conn, event.payment_id)
    if payment is None or payment.kind != event.kind.value:
        raise ApiError("not_found", "no such payment")
    if payment.gateway_reference not in (None, event.reference):
        raise ApiError("conflict", "the reference does not match this payment")
    if payment.status == PaymentStatus.PENDING.value:
        try:
            await signal_gateway_event(client, event)
        except RPCError as exc:  # the workflow has finished: nothing left to tell it
            log.info("callback for finished payment %s: %s", payment.id, exc)
    return {"payment_id": str(payment.id), "status": payment.status}
