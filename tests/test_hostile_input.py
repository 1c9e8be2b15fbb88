"""Hostile input: schemathesis against the served OpenAPI schema, every route, anonymous, as a
client and as an admin. No 5xx, and every answer in the documented shape.

Runs the real API as its own uvicorn process against the test stack (the session's workers
serve its workflows) and drives it with the schemathesis CLI.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from core.embedded import free_port
from tests.helpers import register

CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance"
)
# The streams never end by design; their own tests cover them.
EXCLUDE = r"^/v1/stream/"
MAX_EXAMPLES = os.environ.get("HOSTILE_MAX_EXAMPLES", "12")


@pytest.fixture
def live_api(workers: None, tmp_path: Path) -> object:
    port = free_port()
    env = os.environ.copy()
    # Under schemathesis' load on two cores a market can take more than the default 15 s to
    # answer (a close cancelling hundreds of fuzzed orders): give it time, still bounded.
    env.update(API_PORT=str(port), LOG_LEVEL="WARNING", MARKET_UPDATE_TIMEOUT_SECONDS="90")
    log = open(tmp_path / "api.log", "wb")  # the server writes it until it stops
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "api"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


def _schemathesis(url: str, *headers: str) -> tuple[int, str, int]:
    argv = [
        str(Path(sys.executable).parent / "st"), "run", f"{url}/openapi.json",
        "--checks", CHECKS, "--exclude-path-regex", EXCLUDE,
        "--max-examples", MAX_EXAMPLES, "--seed", "1", "--request-timeout", "120",
        "--workers", "1", "--no-color", "--suppress-health-check", "all",
    ]  # fmt: skip
    for header in headers:
        argv += ["-H", header]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    found = re.findall(r"(\d+) generated", result.stdout)
    tried = int(found[-1]) if found else 0
    failures = result.stdout.find("FAILURES")
    shown = result.stdout[failures : failures + 6000] if failures >= 0 else result.stdout[-4000:]
    return result.returncode, shown, tried


async def test_hostile_input_gets_clean_errors_on_every_route(
    api: httpx.AsyncClient, live_api: str, tmp_path: Path
) -> None:
    client = await register(api)
    admin = await register(api, admin=True)
    tried = 0
    for headers in (
        (),
        (f"Authorization: Bearer {client.token}",),
        (f"Authorization: Bearer {admin.token}",),
    ):
        # In a thread: this test's event loop runs the workers that answer the orders.
        code, out, count = await asyncio.to_thread(_schemathesis, live_api, *headers)
        server_log = (tmp_path / "api.log").read_text(errors="replace")[-6000:]
        assert code == 0, f"{out}\n--- the API's log ---\n{server_log}"
        tried += count
    print(f"\nschemathesis sent {tried} generated requests")


async def test_text_postgres_cannot_store_is_invalid_not_a_server_error(
    api: httpx.AsyncClient,
) -> None:
    for name in ("nul\u0000byte", "lone\udb93surrogate"):
        body = {
            "email": "odd-text@example.com",
            "password": "a-long-password",
            "display_name": name,
        }
        response = await api.post(
            "/v1/auth/register",
            content=json.dumps(body).encode(),  # ASCII escapes, as a hostile client would send
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "invalid_request"
    assert (
        await api.post(
            "/v1/auth/login", json={"email": "odd-text@example.com", "password": "a-long-password"}
        )
    ).status_code == 401  # nothing was created


async def test_deep_json_negative_zero_and_special_numbers_are_refused_cleanly(
    api: httpx.AsyncClient,
) -> None:
    user = await register(api)
    deep = b'{"action": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"
    response = await api.post(
        "/v1/me/deposits",
        content=deep,
        headers={**user.headers, "content-type": "application/json"},
    )
    assert response.status_code == 422, response.text[:200]
    assert response.json()["error"]["code"] == "invalid_request"
    for amount in ("-0", "-0.00", "1e400", "NaN", "Infinity", "0x10", "1_000", " 5", "5.001"):
        refused = await api.post("/v1/me/deposits", json={"amount": amount}, headers=user.headers)
        assert refused.status_code == 422, (amount, refused.text)
        assert refused.json()["error"]["code"] == "invalid_request"
    raw_nan = await api.post(
        "/v1/me/deposits",
        content=b'{"amount": NaN}',
        headers={**user.headers, "content-type": "application/json"},
    )
    assert raw_nan.status_code == 422
