"""API keys: shown once, stored hashed, usable as a bearer token, revoked at once."""

from __future__ import annotations

import hashlib

import httpx
from sqlalchemy import text

from core.db import connection
from tests.helpers import register


async def test_a_key_works_as_a_bearer_token_until_revoked(api: httpx.AsyncClient) -> None:
    user = await register(api)
    created = await api.post("/v1/me/api-keys", json={"name": "bot"}, headers=user.headers)
    assert created.status_code == 201, created.text
    body = created.json()
    key = body["key"]
    assert key.startswith("osk_") and len(key) > 40 and body["name"] == "bot"
    as_bot = {"Authorization": f"Bearer {key}"}

    me = await api.get("/v1/me", headers=as_bot)
    assert me.status_code == 200 and me.json()["id"] == user.id
    assert (await api.get("/v1/me/wallet", headers=as_bot)).status_code == 200

    listed = (await api.get("/v1/me/api-keys", headers=user.headers)).json()
    assert [k["id"] for k in listed["items"]] == [body["id"]]
    assert "key" not in listed["items"][0] and key not in str(listed)

    async with connection() as conn:
        stored = (
            await conn.execute(
                text("SELECT key_hash FROM api_keys WHERE id = :id"), {"id": int(body["id"])}
            )
        ).scalar_one()
    assert stored == hashlib.sha256(key.encode()).hexdigest() and key not in stored

    revoked = await api.delete(f"/v1/me/api-keys/{body['id']}", headers=user.headers)
    assert revoked.status_code == 204
    refused = await api.get("/v1/me", headers=as_bot)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    assert (await api.get("/v1/me/api-keys", headers=user.headers)).json()["items"] == []
    again = await api.delete(f"/v1/me/api-keys/{body['id']}", headers=user.headers)
    assert again.status_code == 404


async def test_a_made_up_key_is_unauthorized(api: httpx.AsyncClient) -> None:
    answer = await api.get("/v1/me", headers={"Authorization": "Bearer osk_not-a-real-key"})
    assert answer.status_code == 401


async def test_nobody_else_can_revoke_my_key(api: httpx.AsyncClient) -> None:
    owner, other = await register(api), await register(api)
    key = (await api.post("/v1/me/api-keys", headers=owner.headers)).json()
    answer = await api.delete(f"/v1/me/api-keys/{key['id']}", headers=other.headers)
    assert answer.status_code == 404
    still = await api.get("/v1/me", headers={"Authorization": f"Bearer {key['key']}"})
    assert still.status_code == 200
