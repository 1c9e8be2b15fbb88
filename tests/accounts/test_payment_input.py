"""Bad deposit and withdrawal requests: a clear 4xx in the API.md shape, and nothing changed."""

from __future__ import annotations

import httpx
import pytest

from tests.accounts.payment_helpers import wallet_of
from tests.helpers import fund, register


@pytest.mark.parametrize("kind", ["deposits", "withdrawals"])
@pytest.mark.parametrize(
    "amount",
    [
        "-5.00",
        "0",
        "0.00",
        "1.001",
        "12.345",
        "NaN",
        "Infinity",
        "1e400",
        "1e2",
        " 5.00",
        "5,00",
        "",
        "abc",
        "10000.01",  # beyond the maximum
        "0.99",  # below the minimum
        "99999999999999999999",
        12.5,  # a JSON number: money travels as strings
        None,
    ],
)
async def test_bad_amounts_are_refused_and_nothing_changes(
    api: httpx.AsyncClient, kind: str, amount: object
) -> None:
    user = await register(api)
    await fund(user.id, 50_000 * 1_000_000)
    answer = await api.post(f"/v1/me/{kind}", json={"amount": amount}, headers=user.headers)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_request" and error["message"]
    assert (await api.get(f"/v1/me/{kind}", headers=user.headers)).json()["items"] == []
    assert (await wallet_of(api, user))["total"] == "50000.00"


async def test_limits_are_named_in_the_error(api: httpx.AsyncClient) -> None:
    user = await register(api)
    answer = await api.post("/v1/me/deposits", json={"amount": "0.50"}, headers=user.headers)
    assert answer.json()["error"]["details"] == {"min": "1.00", "max": "10000.00"}


async def test_unknown_fields_and_long_keys_are_refused(api: httpx.AsyncClient) -> None:
    user = await register(api)
    extra = await api.post(
        "/v1/me/deposits", json={"amount": "5.00", "currency": "EUR"}, headers=user.headers
    )
    long_key = await api.post(
        "/v1/me/deposits",
        json={"amount": "5.00", "idempotency_key": "k" * 101},
        headers=user.headers,
    )
    assert extra.status_code == long_key.status_code == 422
