"""The served OpenAPI schema describes the whole contract of API.md, errors included."""

from __future__ import annotations

import httpx

API_MD_PATHS = {
    ("post", "/v1/auth/register"),
    ("post", "/v1/auth/login"),
    ("get", "/v1/me"),
    ("post", "/v1/me/api-keys"),
    ("get", "/v1/me/api-keys"),
    ("delete", "/v1/me/api-keys/{key_id}"),
    ("get", "/v1/me/wallet"),
    ("post", "/v1/me/deposits"),
    ("get", "/v1/me/deposits/{payment_id}"),
    ("post", "/v1/me/withdrawals"),
    ("get", "/v1/me/transactions"),
    ("get", "/v1/me/positions"),
    ("get", "/v1/me/orders"),
    ("get", "/v1/admin/users"),
    ("patch", "/v1/admin/users/{user_id}"),
    ("post", "/v1/markets"),
    ("get", "/v1/markets"),
    ("get", "/v1/markets/{market_id}"),
    ("get", "/v1/markets/{market_id}/book"),
    ("get", "/v1/markets/{market_id}/trades"),
    ("get", "/v1/markets/{market_id}/candles"),
    ("post", "/v1/markets/{market_id}/pause"),
    ("post", "/v1/markets/{market_id}/resume"),
    ("post", "/v1/markets/{market_id}/close"),
    ("post", "/v1/markets/{market_id}/resolve"),
    ("post", "/v1/markets/{market_id}/disputes"),
    ("post", "/v1/events"),
    ("get", "/v1/events/{event_id}"),
    ("post", "/v1/events/{event_id}/resolve"),
    ("post", "/v1/markets/{market_id}/orders"),
    ("get", "/v1/orders/{order_id}"),
    ("delete", "/v1/orders/{order_id}"),
    ("delete", "/v1/markets/{market_id}/orders"),
    ("get", "/v1/stream/markets"),
    ("get", "/v1/stream/markets/{market_id}"),
    ("get", "/v1/stream/me"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
}


async def test_openapi_lists_every_route_of_the_contract(api: httpx.AsyncClient) -> None:
    response = await api.get("/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    served = {(method, path) for path, ops in schema["paths"].items() for method in ops}
    missing = {
        (method, path)
        for method, path in API_MD_PATHS
        if (method, path) not in served
        # parameter names are ours to choose: compare the shape of the path
        and not any(m == method and _shape(p) == _shape(path) for m, p in served)
    }
    assert missing == set()


async def test_errors_are_documented_in_the_one_shape(api: httpx.AsyncClient) -> None:
    schema = (await api.get("/openapi.json")).json()
    components = schema["components"]["schemas"]
    assert set(components["ErrorResponse"]["properties"]) == {"error"}
    assert "HTTPValidationError" not in components
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            default = operation["responses"]["default"]["content"]["application/json"]
            assert default["schema"]["$ref"].endswith("/ErrorResponse"), (method, path)


def _shape(path: str) -> tuple[str, ...]:
    return tuple("{}" if part.startswith("{") else part for part in path.split("/"))
