"""Withdrawals: held first, then paid out or released; never beyond the available balance."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from core.config import get_settings
from tests.accounts.payment_helpers import wait_for_payment, wallet_of
from tests.helpers import fund, register

DOLLAR = 1_000_000


async def test_a_withdrawal_holds_then_pays_out(api: httpx.AsyncClient) -> None:
    user = await register(api)
    await fund(user.id, 100 * DOLLAR)
    created = await api.post("/v1/me/withdrawals", json={"amount": "40.25"}, headers=user.headers)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "pending"
    held = await wallet_of(api, user)
    # Either still held or already paid out, but never available again.
    assert held["available"] == "59.75"

    done = await wait_for_payment(api, user, "withdrawal", created.json()["id"])
    assert done["status"] == "completed"
    assert await wallet_of(api, user) == {
        "available": "59.75",
        "reserved": "0.00",
        "total": "59.75",
    }
    history = (await api.get("/v1/me/transactions", headers=user.headers)).json()["items"]
    # The hold moved nothing out of the wallet, so only the payout is a history line.
    assert [(t["kind"], t["amount"], t["balance_after"]) for t in history] == [
        ("withdrawal", "-40.25", "59.75"),
        ("deposit", "100.00", "100.00"),
    ]


async def test_a_declined_payout_releases_the_hold(api: httpx.AsyncClient) -> None:
    user = await register(api)
    await fund(user.id, 50 * DOLLAR)
    created = await api.post("/v1/me/withdrawals", json={"amount": "20.13"}, headers=user.headers)
    done = await wait_for_payment(api, user, "withdrawal", created.json()["id"])
    assert done["status"] == "failed" and done["failure_reason"] == "declined"
    assert await wallet_of(api, user) == {
        "available": "50.00",
        "reserved": "0.00",
        "total": "50.00",
    }


async def test_a_payout_the_gateway_never_confirms_times_out_and_releases(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "payments_confirmation_timeout_seconds", 1.0)
    user = await register(api)
    await fund(user.id, 50 * DOLLAR)
    created = await api.post("/v1/me/withdrawals", json={"amount": "5.14"}, headers=user.headers)
    done = await wait_for_payment(api, user, "withdrawal", created.json()["id"])
    assert done["status"] == "failed" and done["failure_reason"] == "gateway_timeout"
    assert (await wallet_of(api, user))["available"] == "50.00"


async def test_a_withdrawal_beyond_the_available_balance_is_refused(
    api: httpx.AsyncClient,
) -> None:
    user = await register(api)
    await fund(user.id, 10 * DOLLAR)
    refused = await api.post("/v1/me/withdrawals", json={"amount": "10.01"}, headers=user.headers)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "insufficient_funds"
    listed = (await api.get("/v1/me/withdrawals", headers=user.headers)).json()
    assert listed["items"] == []  # nothing recorded
    assert (await wallet_of(api, user))["available"] == "10.00"


async def test_concurrent_withdrawals_never_exceed_the_balance(api: httpx.AsyncClient) -> None:
    user = await register(api)
    await fund(user.id, 100 * DOLLAR)
    answers = await asyncio.gather(
        *(
            api.post("/v1/me/withdrawals", json={"amount": "30.00"}, headers=user.headers)
            for _ in range(6)
        )
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [201, 201, 201, 409, 409, 409], [a.text for a in answers]
    for answer in answers:
        if answer.status_code == 201:
            done = await wait_for_payment(api, user, "withdrawal", answer.json()["id"])
            assert done["status"] == "completed"
    assert await wallet_of(api, user) == {
        "available": "10.00",
        "reserved": "0.00",
        "total": "10.00",
    }


async def test_a_repeated_withdrawal_request_is_held_and_paid_once(
    api: httpx.AsyncClient,
) -> None:
    user = await register(api)
    await fund(user.id, 30 * DOLLAR)
    request = {"amount": "20.00", "idempotency_key": "cash-out-7"}
    answers = await asyncio.gather(
        *(api.post("/v1/me/withdrawals", json=request, headers=user.headers) for _ in range(4))
    )
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]
    assert len({a.json()["id"] for a in answers}) == 1
    await wait_for_payment(api, user, "withdrawal", answers[0].json()["id"])
    assert (await wallet_of(api, user))["total"] == "10.00"
