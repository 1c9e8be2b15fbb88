"""Wallet history: newest first, cursor pages, filters by kind and market."""

from __future__ import annotations

import uuid

import httpx

from core.db import transaction
from services.accounts.ledger import NewTransaction, escrow_account, post_transaction, user_accounts
from tests.helpers import fund, register

DOLLAR = 1_000_000


async def test_history_pages_and_filters(api: httpx.AsyncClient) -> None:
    user = await register(api)
    for dollars in (1, 2, 3, 4, 5):
        await fund(user.id, dollars * DOLLAR)
    # A trade-like move: a hold (not shown), then cash from reserved into a market's escrow.
    # A market id no real market will have (markets are numbered from 1).
    market_id = 10**15 + int(uuid.uuid4().int % 10**9)
    async with transaction() as conn:
        accounts = (await user_accounts(conn, [int(user.id)]))[int(user.id)]
        escrow = await escrow_account(conn, market_id)
        for kind, legs in (
            ("order_hold", [(accounts.available, -2 * DOLLAR), (accounts.reserved, 2 * DOLLAR)]),
            ("trade", [(accounts.reserved, -1_500_000), (escrow, 1_500_000)]),
        ):
            await post_transaction(
                conn,
                NewTransaction(
                    kind, f"test:{uuid.uuid4()}", legs, user_id=int(user.id), market_id=market_id
                ),
            )

    everything = (await api.get("/v1/me/transactions", headers=user.headers)).json()["items"]
    assert [(t["kind"], t["amount"], t["balance_after"]) for t in everything] == [
        ("trade", "-1.50", "13.50"),
        ("deposit", "5.00", "15.00"),
        ("deposit", "4.00", "10.00"),
        ("deposit", "3.00", "6.00"),
        ("deposit", "2.00", "3.00"),
        ("deposit", "1.00", "1.00"),
    ]
    assert everything[0]["market_id"] == str(market_id)

    pages: list[str] = []
    cursor = None
    while True:
        params = {"limit": 4, "kind": "deposit"} | ({"cursor": cursor} if cursor else {})
        body = (await api.get("/v1/me/transactions", params=params, headers=user.headers)).json()
        pages.append(",".join(t["amount"] for t in body["items"]))
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == ["5.00,4.00,3.00,2.00", "1.00"]

    in_market = await api.get(
        "/v1/me/transactions", params={"market_id": str(market_id)}, headers=user.headers
    )
    assert [t["kind"] for t in in_market.json()["items"]] == ["trade"]
    wallet = (await api.get("/v1/me/wallet", headers=user.headers)).json()
    assert wallet == {"available": "13.00", "reserved": "0.50", "total": "13.50"}

    # Nobody else sees these lines.
    other = await register(api)
    assert (await api.get("/v1/me/transactions", headers=other.headers)).json()["items"] == []


async def test_bad_history_queries_are_invalid(api: httpx.AsyncClient) -> None:
    user = await register(api)
    for params in ({"limit": 0}, {"limit": 1000}, {"cursor": "abc"}, {"market_id": "x"}):
        answer = await api.get("/v1/me/transactions", params=params, headers=user.headers)
        assert answer.status_code == 422, params
        assert answer.json()["error"]["code"] == "invalid_request"
