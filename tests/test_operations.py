"""Operations endpoints: liveness, readiness, metrics."""

from __future__ import annotations

import httpx

from api.temporal_client import LazyTemporalClient
from core.embedded import free_port


async def test_healthz_answers_ok(api: httpx.AsyncClient) -> None:
    response = await api.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_database_and_temporal_reachable(api: httpx.AsyncClient) -> None:
    response = await api.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": "ok", "temporal": "ok"}


async def test_readyz_is_503_with_the_reason_when_temporal_is_down(
    api: httpx.AsyncClient,
) -> None:
    app = api._transport.app  # type: ignore[attr-defined]
    working = app.state.temporal
    app.state.temporal = LazyTemporalClient(address=f"127.0.0.1:{free_port()}")
    try:
        response = await api.get("/readyz")
    finally:
        app.state.temporal = working
    assert response.status_code == 503
    body = response.json()
    assert body["error"]["code"] == "unavailable"
    assert body["error"]["details"]["checks"]["database"] == "ok"
    assert body["error"]["details"]["checks"]["temporal"] != "ok"
    assert "temporal" in body["error"]["message"]
    assert response.headers["retry-after"]


async def test_metrics_exposes_request_counts(api: httpx.AsyncClient) -> None:
    await api.get("/healthz")
    response = await api.get("/metrics")
    assert response.status_code == 200
    assert 'oddsmith_http_requests_total{method="GET",route="/healthz",status="200"}' in (
        response.text
    )


async def test_unknown_route_answers_in_the_error_shape(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_responses_carry_security_headers(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/markets")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["content-security-policy"] == "default-src 'none'"
    assert response.headers["cache-control"] == "no-store"


async def test_cors_is_closed_by_default(api: httpx.AsyncClient) -> None:
    response = await api.options(
        "/v1/markets",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in response.headers


async def test_oversized_bodies_are_refused_before_parsing(api: httpx.AsyncClient) -> None:
    response = await api.post("/v1/auth/login", content=b"{" + b" " * 100_000 + b"}")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_writes_answer_503_with_retry_after_while_temporal_is_down(
    api: httpx.AsyncClient,
) -> None:
    from tests.helpers import register

    user = await register(api)
    app = api._transport.app  # type: ignore[attr-defined]
    working = app.state.temporal
    app.state.temporal = LazyTemporalClient(address=f"127.0.0.1:{free_port()}")
    try:
        response = await api.post(
            "/v1/markets/1/orders",
            json={"action": "buy", "side": "yes", "count": 1, "price": "0.50"},
            headers=user.headers,
        )
    finally:
        app.state.temporal = working
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"
    assert response.headers["retry-after"]
