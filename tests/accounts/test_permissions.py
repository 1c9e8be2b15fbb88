"""The permission matrix: every accounts route × anonymous, owner, other client, admin,
suspended user. Nobody sees or touches another user's keys, wallet or payments."""

from __future__ import annotations

import httpx

from tests.accounts.payment_helpers import wait_for_payment
from tests.helpers import Client, fund, register

# (method, path template, body); {deposit}, {withdrawal}, {key} and {user} are the owner's.
OWN_ROUTES = [
    ("GET", "/v1/me/wallet", None),
    ("GET", "/v1/me/transactions", None),
    ("GET", "/v1/me/api-keys", None),
    ("POST", "/v1/me/api-keys", {"name": "matrix"}),
    ("GET", "/v1/me/deposits", None),
    ("POST", "/v1/me/deposits", {"amount": "2.00"}),
    ("GET", "/v1/me/withdrawals", None),
    ("POST", "/v1/me/withdrawals", {"amount": "1.00"}),
]
OWNED_THINGS = [
    ("GET", "/v1/me/deposits/{deposit}", None),
    ("GET", "/v1/me/withdrawals/{withdrawal}", None),
    ("DELETE", "/v1/me/api-keys/{key}", None),
]
ADMIN_ROUTES = [
    ("GET", "/v1/admin/users", None),
    ("PATCH", "/v1/admin/users/{user}", {"role": "client"}),
]


async def _setup(api: httpx.AsyncClient) -> dict[str, object]:
    owner, other, admin, suspended = (
        await register(api),
        await register(api),
        await register(api, admin=True),
        await register(api),
    )
    await fund(owner.id, 100_000_000)
    for funded in (other, admin):
        await fund(funded.id, 100_000_000)
    deposit = (
        await api.post("/v1/me/deposits", json={"amount": "3.00"}, headers=owner.headers)
    ).json()
    withdrawal = (
        await api.post("/v1/me/withdrawals", json={"amount": "4.00"}, headers=owner.headers)
    ).json()
    key = (await api.post("/v1/me/api-keys", headers=owner.headers)).json()
    await wait_for_payment(api, owner, "deposit", deposit["id"])
    await wait_for_payment(api, owner, "withdrawal", withdrawal["id"])
    patched = await api.patch(
        f"/v1/admin/users/{suspended.id}", json={"status": "suspended"}, headers=admin.headers
    )
    assert patched.status_code == 200
    return {
        "owner": owner,
        "other": other,
        "admin": admin,
        "suspended": suspended,
        "ids": {
            "deposit": deposit["id"],
            "withdrawal": withdrawal["id"],
            "key": key["id"],
            "user": other.id,
        },
    }


async def _call(
    api: httpx.AsyncClient, who: Client | None, method: str, path: str, body: object
) -> httpx.Response:
    headers = who.headers if who else {}
    return await api.request(method, path, json=body, headers=headers)


async def test_the_permission_matrix(api: httpx.AsyncClient) -> None:
    world = await _setup(api)
    ids = world["ids"]
    assert isinstance(ids, dict)
    owner, other, admin, suspended = (
        world["owner"],
        world["other"],
        world["admin"],
        world["suspended"],
    )
    assert isinstance(owner, Client) and isinstance(other, Client)
    assert isinstance(admin, Client) and isinstance(suspended, Client)
    failures: list[str] = []

    def expect(route: str, who: str, answer: httpx.Response, statuses: set[int]) -> None:
        if answer.status_code not in statuses:
            failures.append(f"{route} as {who}: {answer.status_code} {answer.text[:120]}")
        elif answer.status_code >= 400 and answer.json()["error"]["code"] not in {
            "unauthorized",
            "forbidden",
            "not_found",
        }:
            failures.append(f"{route} as {who}: unexpected error {answer.text[:120]}")

    everything = OWN_ROUTES + OWNED_THINGS + ADMIN_ROUTES
    for method, template, body in everything:
        path = template.format(**ids)
        route = f"{method} {template}"
        expect(route, "anonymous", await _call(api, None, method, path, body), {401})
        expect(route, "suspended", await _call(api, suspended, method, path, body), {403})

    for method, template, body in OWN_ROUTES:
        path = template.format(**ids)
        for name, who in (("owner", owner), ("other", other), ("admin", admin)):
            expect(
                f"{method} {template}", name, await _call(api, who, method, path, body), {200, 201}
            )

    for method, template, body in OWNED_THINGS:
        path = template.format(**ids)
        # Other people, admins included, do not see the owner's things under /v1/me.
        for name, who in (("other", other), ("admin", admin)):
            expect(f"{method} {template}", name, await _call(api, who, method, path, body), {404})
        expect(
            f"{method} {template}", "owner", await _call(api, owner, method, path, body), {200, 204}
        )

    for method, template, body in ADMIN_ROUTES:
        path = template.format(**ids)
        for name, who in (("owner", owner), ("other", other)):
            expect(f"{method} {template}", name, await _call(api, who, method, path, body), {403})
        expect(f"{method} {template}", "admin", await _call(api, admin, method, path, body), {200})

    assert not failures, "\n".join(failures)
