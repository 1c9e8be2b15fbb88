"""Resolving markets through the API: every outcome pays each holder exactly, escrow ends at
zero, realized P&L is recorded and the ledger reconciles."""

from __future__ import annotations

import httpx
import pytest

from core.db import connection
from services.accounts.ledger import reconcile
from tests.resolution.helpers import (
    DOLLARS,
    market_with_holders,
    notifications,
    positions,
    totals,
    wait_for_status,
)
from tests.trading.helpers import escrow_micros, market_row

EXPECTED_POSITIONS = {"alice": 7, "bob": -10, "carol": 5, "dave": -5, "erin": 0, "frank": 3}


@pytest.mark.parametrize(
    ("body", "outcome", "value"),
    [
        ({"outcome": "yes"}, "yes", DOLLARS),
        ({"outcome": "no"}, "no", 0),
        ({"outcome": "void"}, "void", DOLLARS // 2),
        ({"settlement_value": "0.35"}, "scalar", 350_000),
    ],
)
async def test_each_outcome_pays_every_holder_exactly_and_empties_escrow(
    api: httpx.AsyncClient, body: dict[str, str], outcome: str, value: int
) -> None:
    t = await market_with_holders(api)
    mid = t.market["id"]
    held = await positions(mid)
    for name, expected in EXPECTED_POSITIONS.items():
        assert int(held[int(t.users[name].id)].position) == expected
    cost_before = {name: int(held[int(t.users[name].id)].cost) for name in EXPECTED_POSITIONS}
    pnl_before = {
        name: int(held[int(t.users[name].id)].realized_pnl) for name in EXPECTED_POSITIONS
    }
    assert pnl_before["erin"] == 3 * 10_000  # bought at 0.65, sold at 0.66
    before = await totals(t.users)
    assert await escrow_micros(mid) == 15 * DOLLARS

    # The market is still open: resolving closes it first (dave's resting bid is cancelled).
    resolved = await api.post(f"/v1/markets/{mid}/resolve", json=body, headers=t.admin.headers)
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolving"
    assert resolved.json()["outcome"] == outcome

    settled = await wait_for_status(api, mid, "settled")
    assert settled["outcome"] == outcome
    assert settled["settlement_value"] is not None

    after = await totals(t.users)
    after_positions = await positions(mid)
    for name, pos in EXPECTED_POSITIONS.items():
        payout = pos * value if pos > 0 else -pos * (DOLLARS - value)
        assert after[name] - before[name] == payout, name
        row = after_positions[int(t.users[name].id)]
        assert int(row.position) == 0 and int(row.cost) == 0
        assert int(row.realized_pnl) == pnl_before[name] + payout - cost_before[name], name
        notes = await notifications(t.users[name].id)
        if pos == 0:
            assert notes == []
        else:
            assert len(notes) == 1 and notes[0].kind == "market_resolved"
            assert notes[0].data["payout"] == f"{payout / DOLLARS:.2f}"
    row = await market_row(mid)
    assert row.status == "settled" and row.settlement_value == value
    assert await escrow_micros(mid) == 0
    async with connection() as conn:
        assert (await reconcile(conn)).ok
