"""Every route of the served schema × anonymous / client / other client / admin / suspended:
who may call what, as one table."""

from __future__ import annotations

import re

import httpx

from tests.helpers import Client, fund, register
from tests.trading.helpers import create_market, order

PUBLIC = {
    ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"),
    ("POST", "/v1/auth/login"), ("POST", "/v1/auth/register"),
    ("GET", "/v1/markets"), ("GET", "/v1/markets/{market_id}"),
    ("GET", "/v1/markets/{market_id}/book"), ("GET", "/v1/markets/{market_id}/candles"),
    ("GET", "/v1/markets/{market_id}/trades"), ("GET", "/v1/events/{event_id}"),
    ("GET", "/v1/stream/markets"), ("GET", "/v1/stream/markets/{market_id}"),
    ("POST", "/v1/payments/sandbox/callback"),  # signed by the gateway, not by a user
}  # fmt: skip
ADMIN_ONLY = re.compile(
    r"^(\w+ /v1/admin/.*"
    r"|POST /v1/markets"
    r"|PATCH /v1/markets/\{market_id\}"
    r"|POST /v1/markets/\{market_id\}/(pause|resume|close|resolve|confirm)"
    r"|POST /v1/events(/\{event_id\}/resolve)?)$"
)
STREAMS = ("/v1/stream/",)


async def _routes(api: httpx.AsyncClient) -> list[tuple[str, str]]:
    schema = (await api.get("/openapi.json")).json()
    return sorted((method.upper(), path) for path, ops in schema["paths"].items() for method in ops)


def _fill(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), "1"), path)


async def _call(api: httpx.AsyncClient, method: str, url: str, who: Client | None) -> int:
    headers = who.headers if who else {}
    if url.startswith(STREAMS):
        async with api.stream(method, url, headers=headers) as response:
            return response.status_code
    body = {} if method in ("POST", "PUT", "PATCH") else None
    return (await api.request(method, url, json=body, headers=headers)).status_code


async def test_the_authorization_matrix(api: httpx.AsyncClient) -> None:
    admin = await register(api, admin=True)
    owner, other = await register(api), await register(api)
    suspended = await register(api)
    await fund(owner.id, 50 * 1_000_000)
    market = (await create_market(api, admin))["id"]
    owned = (
        await order(api, owner, market, action="buy", side="yes", count=1, price="0.10")
    ).json()
    assert (
        await api.patch(
            f"/v1/admin/users/{suspended.id}", json={"status": "suspended"}, headers=admin.headers
        )
    ).status_code == 200
    # Another client's order is invisible: not found, not forbidden (nothing leaks).
    for method in ("GET", "DELETE"):
        assert await _call(api, method, f"/v1/orders/{owned['id']}", other) == 404
        assert await _call(api, method, f"/v1/orders/{owned['id']}", owner) == 200
    ids = {"market_id": market, "order_id": owned["id"], "user_id": other.id}
    routes = await _routes(api)
    assert len(routes) > 40
    rows = 0
    for method, path in routes:
        url = _fill(path, ids)
        key = f"{method} {path}"
        if (method, path) in PUBLIC:
            continue
        assert await _call(api, method, url, None) == 401, f"anonymous {key}"
        assert await _call(api, method, url, suspended) == 403, f"suspended {key}"
        if ADMIN_ONLY.match(key):
            assert await _call(api, method, url, owner) == 403, f"client {key}"
            assert await _call(api, method, url, admin) != 403, f"admin {key}"
        rows += 1
    assert rows > 30
