"""Tokens expire; secrets never appear in a response or a log line."""

from __future__ import annotations

import logging
import time
import uuid

import httpx
import jwt
import pytest

from core.config import get_settings
from tests.helpers import register


async def test_an_expired_token_is_refused(api: httpx.AsyncClient) -> None:
    user = await register(api)
    now = int(time.time())
    expired = jwt.encode(
        {"sub": user.id, "role": "client", "iat": now - 7200, "exp": now - 1},
        get_settings().jwt_secret,
        algorithm="HS256",
    )
    response = await api.get("/v1/me", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


async def test_a_token_signed_with_another_secret_is_refused(api: httpx.AsyncClient) -> None:
    user = await register(api)
    forged = jwt.encode(
        {"sub": user.id, "role": "admin", "exp": int(time.time()) + 600},
        "not-our-secret-at-all-not-our-secret",
        algorithm="HS256",
    )
    assert (
        await api.get("/v1/me", headers={"Authorization": f"Bearer {forged}"})
    ).status_code == 401


async def test_passwords_keys_and_hashes_never_leave_in_responses_or_logs(
    api: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    password = f"secret-{uuid.uuid4().hex}"
    email = f"quiet-{uuid.uuid4().hex[:8]}@example.com"
    bodies = []
    created = await api.post("/v1/auth/register", json={"email": email, "password": password})
    bodies.append(created.text)
    login = await api.post("/v1/auth/login", json={"email": email, "password": password})
    token = login.json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    key = (await api.post("/v1/me/api-keys", json={}, headers=headers)).json()["key"]
    bodies.append((await api.get("/v1/me", headers=headers)).text)
    bodies.append((await api.get("/v1/me/api-keys", headers=headers)).text)
    bodies.append(
        (await api.post("/v1/auth/login", json={"email": email, "password": "wrong-password"})).text
    )
    for body in bodies:
        assert password not in body and "argon2" not in body and key not in body
    assert password not in caplog.text
    assert key not in caplog.text
    assert "argon2" not in caplog.text
