"""Deposits: credited only after the gateway confirms; declines and timeouts credit nothing."""

from __future__ import annotations

import json

import httpx
import pytest
from temporalio.client import Client as TemporalClient
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from core.config import get_settings
from services.accounts.gateway import SIGNATURE_HEADER, sign_callback
from tests.accounts.payment_helpers import wait_for_payment, wallet_of
from tests.helpers import register
from workflows.payments import DepositWorkflow, WithdrawalWorkflow


async def test_a_deposit_is_credited_once_the_gateway_confirms(
    api: httpx.AsyncClient, temporal_client: TemporalClient
) -> None:
    user = await register(api)
    created = await api.post("/v1/me/deposits", json={"amount": "25.50"}, headers=user.headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["amount"] == "25.50" and body["status"] == "pending"
    assert (await wallet_of(api, user))["total"] == "0.00"  # nothing before confirmation

    done = await wait_for_payment(api, user, "deposit", body["id"])
    assert done["status"] == "completed"
    assert await wallet_of(api, user) == {
        "available": "25.50",
        "reserved": "0.00",
        "total": "25.50",
    }

    # The workflow is in Temporal under its readable id.
    described = await temporal_client.get_workflow_handle(f"deposit-{body['id']}").describe()
    assert described.workflow_type == "Deposit"
    # Its history replays against today's code (catches non-determinism after a change).
    history = await temporal_client.get_workflow_handle(f"deposit-{body['id']}").fetch_history()
    await Replayer(
        workflows=[DepositWorkflow, WithdrawalWorkflow], data_converter=pydantic_data_converter
    ).replay_workflow(history)

    lines = (await api.get("/v1/me/transactions", headers=user.headers)).json()
    assert [(t["kind"], t["amount"], t["balance_after"]) for t in lines["items"]] == [
        ("deposit", "25.50", "25.50")
    ]


async def test_a_declined_deposit_fails_and_credits_nothing(api: httpx.AsyncClient) -> None:
    user = await register(api)
    created = await api.post("/v1/me/deposits", json={"amount": "10.13"}, headers=user.headers)
    assert created.status_code == 201
    done = await wait_for_payment(api, user, "deposit", created.json()["id"])
    assert done["status"] == "failed" and done["failure_reason"] == "declined"
    assert (await wallet_of(api, user))["total"] == "0.00"


async def test_a_deposit_the_gateway_never_confirms_times_out(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "payments_confirmation_timeout_seconds", 1.0)
    user = await register(api)
    created = await api.post("/v1/me/deposits", json={"amount": "10.14"}, headers=user.headers)
    deposit_id = created.json()["id"]
    done = await wait_for_payment(api, user, "deposit", deposit_id)
    assert done["status"] == "failed" and done["failure_reason"] == "gateway_timeout"
    assert (await wallet_of(api, user))["total"] == "0.00"

    # A confirmation that arrives after the workflow gave up is acknowledged and ignored.
    body = json.dumps(
        {
            "kind": "deposit",
            "payment_id": int(deposit_id),
            "reference": f"sbx_deposit_{deposit_id}",
            "outcome": "succeeded",
        }
    ).encode()
    late = await api.post(
        "/v1/payments/sandbox/callback",
        content=body,
        headers={SIGNATURE_HEADER: sign_callback(body)},
    )
    assert late.status_code == 200 and late.json()["status"] == "failed"
    assert (await wallet_of(api, user))["total"] == "0.00"


async def test_the_callback_endpoint_confirms_a_deposit_once(api: httpx.AsyncClient) -> None:
    user = await register(api)
    # .14 is never confirmed by the sandbox itself: the confirmation comes by the callback.
    created = await api.post("/v1/me/deposits", json={"amount": "7.14"}, headers=user.headers)
    deposit_id = created.json()["id"]
    event = {
        "kind": "deposit",
        "payment_id": int(deposit_id),
        "reference": f"sbx_deposit_{deposit_id}",
        "outcome": "succeeded",
    }
    body = json.dumps(event).encode()

    unsigned = await api.post("/v1/payments/sandbox/callback", content=body)
    assert unsigned.status_code == 401
    forged = await api.post(
        "/v1/payments/sandbox/callback", content=body, headers={SIGNATURE_HEADER: "0" * 64}
    )
    assert forged.status_code == 401

    signed = {SIGNATURE_HEADER: sign_callback(body), "Content-Type": "application/json"}
    for _ in range(3):  # gateways repeat callbacks; only the first one counts
        answer = await api.post("/v1/payments/sandbox/callback", content=body, headers=signed)
        assert answer.status_code == 200, answer.text
    done = await wait_for_payment(api, user, "deposit", deposit_id)
    assert done["status"] == "completed"
    again = await api.post("/v1/payments/sandbox/callback", content=body, headers=signed)
    assert again.status_code == 200 and again.json()["status"] == "completed"
    assert (await wallet_of(api, user))["total"] == "7.14"


async def test_repeating_an_idempotency_key_returns_the_first_deposit(
    api: httpx.AsyncClient,
) -> None:
    user = await register(api)
    request = {"amount": "12.00", "idempotency_key": "top-up-1"}
    first = await api.post("/v1/me/deposits", json=request, headers=user.headers)
    second = await api.post("/v1/me/deposits", json=request, headers=user.headers)
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    await wait_for_payment(api, user, "deposit", first.json()["id"])
    third = await api.post("/v1/me/deposits", json=request, headers=user.headers)
    assert third.status_code == 200 and third.json()["status"] == "completed"
    assert (await wallet_of(api, user))["total"] == "12.00"  # credited once

    different = await api.post(
        "/v1/me/deposits",
        json={"amount": "13.00", "idempotency_key": "top-up-1"},
        headers=user.headers,
    )
    assert different.status_code == 409 and different.json()["error"]["code"] == "conflict"
    listed = (await api.get("/v1/me/deposits", headers=user.headers)).json()
    assert [d["id"] for d in listed["items"]] == [first.json()["id"]]
