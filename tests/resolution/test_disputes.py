"""Disputes and wrong requests: a holder disputes, an admin amends or confirms; bad input,
wrong states and clients calling admin actions are refused with nothing changed."""

from __future__ import annotations

import asyncio

import httpx

from core.db import connection
from services.accounts.ledger import reconcile
from tests.helpers import register
from tests.resolution.helpers import (
    DOLLARS,
    market_with_holders,
    notifications,
    totals,
    wait_for_status,
)
from tests.trading.helpers import create_market, escrow_micros


async def test_a_dispute_that_amends_the_outcome_pays_at_the_amended_value(
    api: httpx.AsyncClient,
) -> None:
    t = await market_with_holders(api, dispute_window_seconds=2)
    mid, admin, users = t.market["id"], t.admin, t.users
    before = await totals(users)

    proposed = await api.post(
        f"/v1/markets/{mid}/resolve", json={"outcome": "yes"}, headers=admin.headers
    )
    assert proposed.json()["status"] == "resolving", proposed.text

    # erin traded in and out: not a holder; a client cannot resolve.
    refused = await api.post(
        f"/v1/markets/{mid}/disputes", json={"reason": "no"}, headers=users["erin"].headers
    )
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "forbidden"
    as_client = await api.post(
        f"/v1/markets/{mid}/resolve", json={"outcome": "no"}, headers=users["bob"].headers
    )
    assert as_client.status_code == 403

    disputed = await api.post(
        f"/v1/markets/{mid}/disputes",
        json={"reason": "It did not rain: see the weather service."},
        headers=users["bob"].headers,
    )
    assert disputed.status_code == 201, disputed.text
    assert disputed.json()["user_id"] == users["bob"].id
    market = (await api.get(f"/v1/markets/{mid}")).json()
    assert market["status"] == "disputed"
    # A second holder may add their voice while it is disputed.
    also = await api.post(
        f"/v1/markets/{mid}/disputes", json={"reason": "agreed"}, headers=users["dave"].headers
    )
    assert also.status_code == 201, also.text

    # A disputed outcome waits for an admin, however long the window was.
    await asyncio.sleep(2.5)
    assert (await api.get(f"/v1/markets/{mid}")).json()["status"] == "disputed"

    amended = await api.post(
        f"/v1/markets/{mid}/resolve", json={"outcome": "no"}, headers=admin.headers
    )
    assert amended.status_code == 200, amended.text
    assert amended.json()["status"] == "resolving" and amended.json()["outcome"] == "no"
    twice = await api.post(
        f"/v1/markets/{mid}/resolve", json={"outcome": "no"}, headers=admin.headers
    )
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "conflict"

    settled = await wait_for_status(api, mid, "settled")
    assert settled["outcome"] == "no" and settled["settlement_value"] == "0.00"
    after = await totals(users)
    paid = {name: after[name] - before[name] for name in users}
    assert paid == {
        "alice": 0,
        "bob": 10 * DOLLARS,
        "carol": 0,
        "dave": 5 * DOLLARS,
        "erin": 0,
        "frank": 0,
    }
    assert await escrow_micros(mid) == 0

    # Settled: no more resolving or disputing, and nothing changes.
    again = await api.post(
        f"/v1/markets/{mid}/resolve", json={"outcome": "yes"}, headers=admin.headers
    )
    assert again.status_code == 409
    late = await api.post(
        f"/v1/markets/{mid}/disputes", json={"reason": "late"}, headers=users["bob"].headers
    )
    assert late.status_code == 409
    assert (await api.get(f"/v1/markets/{mid}")).json()["outcome"] == "no"
    assert len(await notifications(users["bob"].id)) == 1
    async with connection() as conn:
        assert (await reconcile(conn)).ok
        disputes = await conn.exec_driver_sql(
            f"SELECT count(*) FROM market_disputes WHERE market_id = {int(mid)}"
        )
        assert disputes.scalar_one() == 2


async def test_an_admin_confirms_a_disputed_outcome(api: httpx.AsyncClient) -> None:
    t = await market_with_holders(api, dispute_window_seconds=2)
    mid, admin = t.market["id"], t.admin
    await api.post(f"/v1/markets/{mid}/close", headers=admin.headers)
    before = await totals(t.users)
    proposed = await api.post(
        f"/v1/markets/{mid}/resolve", json={"outcome": "void"}, headers=admin.headers
    )
    assert proposed.status_code == 200, proposed.text
    not_yet = await api.post(f"/v1/markets/{mid}/confirm", headers=admin.headers)
    assert not_yet.status_code == 409  # nothing disputed
    disputed = await api.post(
        f"/v1/markets/{mid}/disputes", json={"reason": "unclear"}, headers=t.users["alice"].headers
    )
    assert disputed.status_code == 201, disputed.text
    confirmed = await api.post(f"/v1/markets/{mid}/confirm", headers=admin.headers)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] in ("resolved", "settled")
    await wait_for_status(api, mid, "settled")
    after = await totals(t.users)
    half = DOLLARS // 2
    assert {n: after[n] - before[n] for n in t.users} == {
        "alice": 7 * half,
        "bob": 10 * half,
        "carol": 5 * half,
        "dave": 5 * half,
        "erin": 0,
        "frank": 3 * half,
    }


async def test_bad_outcomes_and_clients_are_refused_and_nothing_changes(
    api: httpx.AsyncClient,
) -> None:
    admin, client = await register(api, admin=True), await register(api)
    market = await create_market(api, admin, dispute_window_seconds=1)
    mid = market["id"]
    url = f"/v1/markets/{mid}/resolve"
    assert (await api.post(url, json={"outcome": "yes"}, headers=client.headers)).status_code == 403
    for body in (
        {"settlement_value": "0.355"},  # off the 1-cent tick
        {"settlement_value": "1.01"},
        {"settlement_value": "-0.5"},
        {"outcome": "maybe"},
        {},
        {"outcome": "yes", "settlement_value": "1"},
    ):
        refused = await api.post(url, json=body, headers=admin.headers)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.json()["error"]["code"] == "invalid_request"
    assert (await api.get(f"/v1/markets/{mid}")).json()["status"] == "open"
    missing = await api.post(
        "/v1/markets/999999/resolve", json={"outcome": "yes"}, headers=admin.headers
    )
    assert missing.status_code == 404
    no_dispute = await api.post(
        f"/v1/markets/{mid}/disputes", json={"reason": "x"}, headers=client.headers
    )
    assert no_dispute.status_code == 409  # nothing proposed yet
    # Nobody held a contract: it settles with nothing to pay.
    assert (await api.post(url, json={"outcome": "no"}, headers=admin.headers)).status_code == 200
    await wait_for_status(api, mid, "settled")
