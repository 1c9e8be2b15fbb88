"""Admins list users page by page, change roles, suspend and reactivate."""

from __future__ import annotations

import httpx

from tests.helpers import PASSWORD, register


async def test_admins_page_through_users(api: httpx.AsyncClient) -> None:
    admin = await register(api, admin=True)
    for _ in range(3):
        await register(api)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = await api.get("/v1/admin/users", params=params, headers=admin.headers)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= 2
        assert all("password_hash" not in u for u in body["items"])
        seen += [u["id"] for u in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen, key=int) and len(seen) == len(set(seen)) >= 4
    assert admin.id in seen

    admins = await api.get("/v1/admin/users", params={"role": "admin"}, headers=admin.headers)
    assert all(u["role"] == "admin" for u in admins.json()["items"])
    by_email = await api.get(
        "/v1/admin/users", params={"email": admin.email}, headers=admin.headers
    )
    assert [u["id"] for u in by_email.json()["items"]] == [admin.id]


async def test_a_suspended_user_cannot_log_in_or_use_tokens_or_keys(
    api: httpx.AsyncClient,
) -> None:
    admin = await register(api, admin=True)
    user = await register(api)
    key = (await api.post("/v1/me/api-keys", headers=user.headers)).json()["key"]

    suspended = await api.patch(
        f"/v1/admin/users/{user.id}", json={"status": "suspended"}, headers=admin.headers
    )
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"

    for headers in (user.headers, {"Authorization": f"Bearer {key}"}):
        answer = await api.get("/v1/me", headers=headers)
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "forbidden"
    login = await api.post("/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert login.status_code == 403

    back = await api.patch(
        f"/v1/admin/users/{user.id}", json={"status": "active"}, headers=admin.headers
    )
    assert back.json()["status"] == "active"
    assert (await api.get("/v1/me", headers=user.headers)).status_code == 200


async def test_admins_change_roles(api: httpx.AsyncClient) -> None:
    admin = await register(api, admin=True)
    user = await register(api)
    assert (await api.get("/v1/admin/users", headers=user.headers)).status_code == 403
    promoted = await api.patch(
        f"/v1/admin/users/{user.id}", json={"role": "admin"}, headers=admin.headers
    )
    assert promoted.json()["role"] == "admin"
    assert (await api.get("/v1/admin/users", headers=user.headers)).status_code == 200


async def test_bad_admin_updates_are_refused(api: httpx.AsyncClient) -> None:
    admin = await register(api, admin=True)
    user = await register(api)
    url = f"/v1/admin/users/{user.id}"
    for body in ({}, {"role": "root"}, {"status": "banned"}, {"email": "x@example.com"}):
        answer = await api.patch(url, json=body, headers=admin.headers)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["error"]["code"] == "invalid_request"
    myself = await api.patch(
        f"/v1/admin/users/{admin.id}", json={"status": "suspended"}, headers=admin.headers
    )
    assert myself.status_code == 409
    for missing in ("999999999", "nope"):
        answer = await api.patch(
            f"/v1/admin/users/{missing}", json={"role": "admin"}, headers=admin.headers
        )
        assert answer.status_code == 404
    bad_cursor = await api.get("/v1/admin/users", params={"cursor": "x"}, headers=admin.headers)
    assert bad_cursor.status_code == 422
