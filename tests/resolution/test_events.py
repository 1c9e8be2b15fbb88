"""Events: resolving an event resolves its winner YES and every other market NO."""

from __future__ import annotations

import httpx

from core.db import connection
from services.accounts.ledger import reconcile
from tests.helpers import fund, register
from tests.resolution.helpers import DOLLARS, place, totals, wait_for_status
from tests.trading.helpers import create_market, escrow_micros


async def test_an_event_with_three_markets_resolves_one_yes_and_the_others_no(
    api: httpx.AsyncClient,
) -> None:
    admin, alice, bob = await register(api, admin=True), await register(api), await register(api)
    await fund(alice.id, 100 * DOLLARS)
    await fund(bob.id, 100 * DOLLARS)
    refused = await api.post("/v1/events", json={"title": "Who wins?"}, headers=alice.headers)
    assert refused.status_code == 403
    created = await api.post(
        "/v1/events", json={"title": "Who wins the cup?"}, headers=admin.headers
    )
    assert created.status_code == 201, created.text
    event_id = created.json()["id"]
    markets = []
    for team in ("Reds", "Blues", "Greens"):
        m = await create_market(
            api, admin, title=f"Will the {team} win?", event_id=event_id, dispute_window_seconds=1
        )
        markets.append(m["id"])
        await place(api, alice, m["id"], action="buy", side="yes", count=2, price="0.30")
        await place(api, bob, m["id"], action="buy", side="no", count=2, price="0.70")
    event = (await api.get(f"/v1/events/{event_id}")).json()
    assert event["market_ids"] == markets and event["status"] == "open"
    before = await totals({"alice": alice, "bob": bob})

    outsider = await api.post(
        f"/v1/events/{event_id}/resolve",
        json={"winning_market_id": "999999"},
        headers=admin.headers,
    )
    assert outsider.status_code == 422
    resolved = await api.post(
        f"/v1/events/{event_id}/resolve",
        json={"winning_market_id": markets[1]},
        headers=admin.headers,
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"
    assert resolved.json()["winning_market_id"] == markets[1]

    outcomes = [(await wait_for_status(api, m, "settled"))["outcome"] for m in markets]
    assert outcomes == ["no", "yes", "no"]
    after = await totals({"alice": alice, "bob": bob})
    # alice holds YES everywhere: paid 2 contracts once; bob holds NO: paid 2 twice.
    assert after["alice"] - before["alice"] == 2 * DOLLARS
    assert after["bob"] - before["bob"] == 4 * DOLLARS
    for m in markets:
        assert await escrow_micros(m) == 0
    again = await api.post(
        f"/v1/events/{event_id}/resolve",
        json={"winning_market_id": markets[0]},
        headers=admin.headers,
    )
    assert again.status_code == 409
    async with connection() as conn:
        assert (await reconcile(conn)).ok
