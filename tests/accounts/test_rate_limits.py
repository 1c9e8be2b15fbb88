"""Per-user token buckets, separate for reads and writes: 429 rate_limited with Retry-After."""

from __future__ import annotations

import httpx
import pytest

from core.config import get_settings
from tests.helpers import register


async def test_reads_and_writes_have_their_own_buckets(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    user, neighbour = await register(api), await register(api)
    settings = get_settings()
    monkeypatch.setattr(settings, "rate_limit_reads_per_second", 0.5)
    monkeypatch.setattr(settings, "rate_limit_reads_burst", 3)
    monkeypatch.setattr(settings, "rate_limit_writes_per_second", 0.5)
    monkeypatch.setattr(settings, "rate_limit_writes_burst", 2)

    reads = [(await api.get("/v1/me", headers=user.headers)).status_code for _ in range(4)]
    assert reads == [200, 200, 200, 429]
    limited = await api.get("/v1/me/wallet", headers=user.headers)
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 2

    # Writes still have their own tokens, and other users are not affected.
    writes = [
        (await api.post("/v1/me/api-keys", headers=user.headers)).status_code for _ in range(3)
    ]
    assert writes == [201, 201, 429]
    assert (await api.get("/v1/me", headers=neighbour.headers)).status_code == 200
