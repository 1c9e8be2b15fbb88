"""Registration, login and the bearer token."""

from __future__ import annotations

import httpx

from tests.helpers import PASSWORD, register


async def test_register_login_and_read_my_profile(api: httpx.AsyncClient) -> None:
    user = await register(api)
    me = await api.get("/v1/me", headers=user.headers)
    assert me.status_code == 200
    body = me.json()
    assert body["id"] == user.id and body["email"] == user.email and body["role"] == "client"
    assert "password_hash" not in body


async def test_duplicate_registration_is_a_conflict(api: httpx.AsyncClient) -> None:
    user = await register(api)
    again = await api.post("/v1/auth/register", json={"email": user.email, "password": PASSWORD})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"


async def test_wrong_password_and_unknown_email_get_the_same_answer(api: httpx.AsyncClient) -> None:
    user = await register(api)
    wrong = await api.post(
        "/v1/auth/login", json={"email": user.email, "password": "not-it-at-all"}
    )
    unknown = await api.post(
        "/v1/auth/login", json={"email": "nobody@example.com", "password": "not-it-at-all"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


async def test_requests_without_or_with_a_bad_token_are_unauthorized(
    api: httpx.AsyncClient,
) -> None:
    assert (await api.get("/v1/me")).json()["error"]["code"] == "unauthorized"
    bad = await api.get("/v1/me", headers={"Authorization": "Bearer nonsense"})
    assert bad.status_code == 401


async def test_malformed_email_and_short_password_are_invalid(api: httpx.AsyncClient) -> None:
    bad_email = await api.post("/v1/auth/register", json={"email": "nope", "password": PASSWORD})
    short = await api.post(
        "/v1/auth/register", json={"email": "a@example.com", "password": "short"}
    )
    assert bad_email.status_code == short.status_code == 422
    assert short.json()["error"]["code"] == "invalid_request"
