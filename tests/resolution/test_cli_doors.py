"""The other two doors: `oddsmith admin resolve` and the Temporal CLI's `workflow update
execute`, run as subprocesses against the test stack (whose settings tests/stack.py exports)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import httpx

from core.config import get_settings
from core.embedded.temporal_server import temporal_binary
from core.names import market_workflow_id
from tests.helpers import fund, register
from tests.resolution.helpers import DOLLARS, place, totals, wait_for_status
from tests.trading.helpers import create_market

ODDSMITH = str(Path(sys.executable).parent / "oddsmith")


async def run(*argv: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=dict(os.environ),
    )
    out, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def temporal_update(market_id: str, payload: dict[str, str]) -> tuple[int, str]:
    settings = get_settings()
    return await run(
        temporal_binary(), "workflow", "update", "execute",
        "--address", settings.temporal_address,
        "--namespace", settings.temporal_namespace,
        "--workflow-id", market_workflow_id(market_id),
        "--name", "resolve",
        "--input", json.dumps(payload),
    )  # fmt: skip


async def traded_market(api: httpx.AsyncClient) -> tuple[str, dict[str, object]]:
    admin, alice, bob = await register(api, admin=True), await register(api), await register(api)
    await fund(alice.id, 50 * DOLLARS)
    await fund(bob.id, 50 * DOLLARS)
    market = await create_market(api, admin, dispute_window_seconds=1)
    await place(api, alice, market["id"], action="buy", side="yes", count=4, price="0.25")
    await place(api, bob, market["id"], action="buy", side="no", count=4, price="0.75")
    return market["id"], {"alice": alice, "bob": bob}


async def test_oddsmith_admin_resolve_resolves_and_refuses_a_second_time(
    api: httpx.AsyncClient,
) -> None:
    mid, users = await traded_market(api)
    before = await totals(users)  # type: ignore[arg-type]
    code, out = await run(ODDSMITH, "admin", "resolve", mid, "0.40")
    assert code == 0, out
    assert f"market {mid} is resolving: scalar = 0.4" in out
    code, out = await run(ODDSMITH, "admin", "resolve", mid, "yes")
    # resolving, resolved or settled by now (the dispute window is one second)
    assert code == 1 and "already" in out, out
    await wait_for_status(api, mid, "settled")
    code, out = await run(ODDSMITH, "admin", "resolve", mid, "no")
    assert code == 1 and "already settled" in out, out
    after = await totals(users)  # type: ignore[arg-type]
    assert after["alice"] - before["alice"] == 4 * 400_000
    assert after["bob"] - before["bob"] == 4 * 600_000
    code, out = await run(ODDSMITH, "admin", "resolve", "999999", "yes")
    assert code == 1 and "no market" in out, out


async def test_temporal_cli_update_resolves_and_a_validator_rejection_exits_non_zero(
    api: httpx.AsyncClient,
) -> None:
    mid, users = await traded_market(api)
    code, out = await temporal_update(mid, {"settlement_value": "0.355"})
    assert code != 0 and "not on the market's tick" in out, out
    code, out = await temporal_update(mid, {"outcome": "maybe"})
    assert code != 0 and 'outcome must be "yes", "no" or "void"' in out, out
    assert (await api.get(f"/v1/markets/{mid}")).json()["status"] == "open"

    before = await totals(users)  # type: ignore[arg-type]
    code, out = await temporal_update(mid, {"outcome": "yes"})
    assert code == 0, out
    assert (await wait_for_status(api, mid, "settled"))["outcome"] == "yes"
    after = await totals(users)  # type: ignore[arg-type]
    assert after["alice"] - before["alice"] == 4 * DOLLARS
    assert after["bob"] == before["bob"]
