"""Orders that one API process sends to a busy market together (api/order_groups.py): one
`place_orders` update for many orders, each order answered on its own."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest
from sqlalchemy import text
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from api.errors import ApiError
from api.order_groups import OrderGroups
from core.db import connection
from core.names import market_workflow_id
from models.trading import OrderView, PlaceOrderRequest
from services.accounts.ledger import reconcile
from tests.helpers import Client as Trader
from tests.helpers import fund, register
from tests.trading.helpers import create_market, escrow_micros, market_row, order

DOLLARS = 1_000_000


async def _accepted_updates(client: Client, market_id: str) -> Counter[str]:
    history = await client.get_workflow_handle(market_workflow_id(market_id)).fetch_history()
    return Counter(
        event.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    )


async def _funded_trader_and_market(api: httpx.AsyncClient) -> tuple[Trader, str]:
    admin = await register(api, admin=True)
    trader = await register(api)
    await fund(trader.id, 100 * DOLLARS)
    return trader, str((await create_market(api, admin))["id"])


async def test_concurrent_orders_go_in_groups_each_with_its_own_answer(
    api: httpx.AsyncClient, temporal_client: Client
) -> None:
    admin = await register(api, admin=True)
    traders = [await register(api) for _ in range(4)]
    for trader in traders:
        await fund(trader.id, 100 * DOLLARS)
    broke = await register(api)  # no money: the engine refuses its order inside a group
    market = await create_market(api, admin, taker_fee_rate="0")
    mid = market["id"]

    bodies = [
        dict(action="buy", side="yes" if i % 2 else "no", count=1 + i % 3, price="0.50")
        for i in range(40)
    ]
    answers = await asyncio.gather(
        *(order(api, traders[i % 4], mid, **body) for i, body in enumerate(bodies)),
        order(api, broke, mid, action="buy", side="yes", count=5, price="0.50"),
    )
    *placed, refused = answers
    assert [a.status_code for a in placed] == [201] * 40, [a.text for a in placed]
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "insufficient_funds"
    # Each answer is its own order: the right user, side and count.
    for answer, body, i in zip(placed, bodies, range(40), strict=True):
        got = answer.json()
        assert got["user_id"] == traders[i % 4].id
        assert (got["side"], got["count"]) == (body["side"], body["count"])
    assert len({a.json()["id"] for a in placed}) == 40

    updates = await _accepted_updates(temporal_client, mid)
    assert updates["place_orders"] >= 1, updates  # the orders did travel in groups
    assert updates["place_orders"] + updates["place_order"] < 41
    # YES bids at 0.50 against NO bids at 0.50 mint pairs: escrow is $1 per contract of
    # open interest, and the ledger balances.
    row = await market_row(mid)
    assert await escrow_micros(mid) == row.open_interest * DOLLARS
    assert row.open_interest > 0
    async with connection() as conn:
        assert (await reconcile(conn)).ok


async def test_a_group_with_an_invalid_order_is_sent_order_by_order(
    api: httpx.AsyncClient, temporal_client: Client
) -> None:
    trader, mid = await _funded_trader_and_market(api)
    groups = OrderGroups(in_flight_per_market=1)

    def place(price: int, request_id: str) -> asyncio.Task[OrderView]:
        request = PlaceOrderRequest(
            user_id=int(trader.id), action="buy", side="yes", count=1, price=price
        )
        return asyncio.create_task(groups.place(temporal_client, mid, request, request_id))

    first = place(100_000, "first")  # goes alone at once; the rest wait behind it
    await asyncio.sleep(0)
    rest = [place(200_000 + 10_000 * i, f"next-{i}") for i in range(4)]
    off_tick = place(305_000, "off-tick")  # 0.305: not on the 1c tick
    await asyncio.sleep(0)
    assert (await first).status == "resting"
    for task, i in zip(rest, range(4), strict=True):
        assert (await task).price == f"{0.20 + 0.01 * i:.2f}"
    with pytest.raises(ApiError) as refused:
        await off_tick
    assert refused.value.code == "invalid_request" and "tick" in refused.value.message

    # The workflow's validator refused the group, so nothing of it was recorded; each order
    # then went alone and got its own verdict.
    assert await _accepted_updates(temporal_client, mid) == Counter({"place_order": 5})
    async with connection() as conn:
        count = await conn.execute(
            text("SELECT count(*) FROM orders WHERE market_id = :m"), {"m": int(mid)}
        )
        assert count.scalar_one() == 5


async def test_a_client_order_id_sent_twice_into_a_busy_market_is_one_order(
    api: httpx.AsyncClient, temporal_client: Client
) -> None:
    admin = await register(api, admin=True)
    trader, other = await register(api), await register(api)
    for who in (trader, other):
        await fund(who.id, 100 * DOLLARS)
    mid = (await create_market(api, admin))["id"]
    body = dict(action="buy", side="yes", count=3, price="0.41", client_order_id="twice-1")
    answers = await asyncio.gather(
        *(order(api, other, mid, action="buy", side="no", count=1, price="0.30") for _ in range(8)),
        order(api, trader, mid, **body),
        *(order(api, other, mid, action="buy", side="no", count=1, price="0.30") for _ in range(8)),
        order(api, trader, mid, **body),
    )
    assert all(a.status_code in (200, 201) for a in answers), [a.text for a in answers]
    twice = [a.json() for a in answers if a.json().get("client_order_id") == "twice-1"]
    assert len(twice) == 2 and twice[0]["id"] == twice[1]["id"]
    async with connection() as conn:
        count = await conn.execute(
            text("SELECT count(*) FROM orders WHERE user_id = :u"), {"u": int(trader.id)}
        )
        assert count.scalar_one() == 1


async def test_orders_arriving_together_at_an_idle_market_go_as_one_update(
    api: httpx.AsyncClient, temporal_client: Client
) -> None:
    trader, mid = await _funded_trader_and_market(api)
    groups = OrderGroups(in_flight_per_market=2, gather_seconds=0.05)
    requests = [
        PlaceOrderRequest(user_id=int(trader.id), action="buy", side="yes", count=1 + i, price=p)
        for i, p in enumerate((100_000, 110_000, 120_000, 130_000, 140_000))
    ]
    placed = await asyncio.gather(
        *(groups.place(temporal_client, mid, r, f"together-{i}") for i, r in enumerate(requests))
    )
    assert [(o.count, o.price) for o in placed] == [
        (1, "0.10"),
        (2, "0.11"),
        (3, "0.12"),
        (4, "0.13"),
        (5, "0.14"),
    ]
    assert await _accepted_updates(temporal_client, mid) == Counter({"place_orders": 1})


async def test_an_order_to_a_quiet_market_is_not_held_for_company(
    api: httpx.AsyncClient, temporal_client: Client
) -> None:
    trader, mid = await _funded_trader_and_market(api)
    # Were the lone order held for company, it would wait the hour.
    groups = OrderGroups(in_flight_per_market=2, gather_seconds=3600)
    request = PlaceOrderRequest(
        user_id=int(trader.id), action="buy", side="yes", count=1, price=100_000
    )
    placed = await asyncio.wait_for(groups.place(temporal_client, mid, request, "quiet-1"), 60)
    assert (placed.count, placed.status) == (1, "resting")
    assert await _accepted_updates(temporal_client, mid) == Counter({"place_order": 1})
