"""Orders through the HTTP API, the MarketWorkflow and the trade engine, with exact money."""

from __future__ import annotations

import httpx
import pytest
from temporalio.client import Client, WorkflowUpdateFailedError

from core.db import connection
from core.names import market_workflow_id
from models.trading import OrderView, PlaceOrderRequest
from services.accounts.ledger import reconcile
from tests.helpers import Client as Trader
from tests.helpers import fund, register
from tests.trading.helpers import create_market, escrow_micros, market_row, order, wallet_micros

DOLLARS = 1_000_000


async def test_yes_bid_and_no_bid_that_cross_mint_pairs_into_escrow(api: httpx.AsyncClient) -> None:
    admin = await register(api, admin=True)
    alice, bob = await register(api), await register(api)
    await fund(alice.id, 100 * DOLLARS)
    await fund(bob.id, 100 * DOLLARS)
    market = await create_market(api, admin)
    assert market["status"] == "open"

    resting = await order(
        api, alice, market["id"], action="buy", side="yes", count=10, price="0.60"
    )
    assert resting.status_code == 201, resting.text
    assert resting.json()["status"] == "resting"
    taker = await order(api, bob, market["id"], action="buy", side="no", count=10, price="0.40")
    assert taker.status_code == 201, taker.text
    body = taker.json()
    assert body["status"] == "filled" and body["filled_count"] == 10
    assert body["avg_fill_price"] == "0.40"
    # Taker fee: ceil_to_cent(0.07 x 10 x 0.40 x 0.60) = ceil(0.168) = $0.17; maker pays none.
    assert body["fees"] == "0.17"
    assert [f["kind"] for f in body["fills"]] == ["mint"]

    assert await escrow_micros(market["id"]) == 10 * DOLLARS
    assert await wallet_micros(alice.id) == (94 * DOLLARS, 0)
    assert await wallet_micros(bob.id) == (100 * DOLLARS - 4 * DOLLARS - 170_000, 0)
    row = await market_row(market["id"])
    assert (row.open_interest, row.volume, row.last_price) == (10, 10, 600_000)

    positions = (await api.get("/v1/me/positions", headers=alice.headers)).json()
    assert positions[0]["side"] == "yes" and positions[0]["count"] == 10
    assert positions[0]["avg_price"] == "0.60"
    async with connection() as conn:
        assert (await reconcile(conn)).ok


async def _market_with_traders(api: httpx.AsyncClient, n: int = 2, **fields: object):  # type: ignore[no-untyped-def]
    admin = await register(api, admin=True)
    users = [await register(api) for _ in range(n)]
    for u in users:
        await fund(u.id, 100 * DOLLARS)
    market = await create_market(api, admin, **fields)
    return admin, users, market["id"]


async def test_transfer_then_merge_with_exact_balances(api: httpx.AsyncClient) -> None:
    _, (alice, bob, carol), mid = await _market_with_traders(api, 3, taker_fee_rate="0")
    # Mint: alice YES @0.60, bob NO @0.40.
    await order(api, alice, mid, action="buy", side="yes", count=10, price="0.60")
    await order(api, bob, mid, action="buy", side="no", count=10, price="0.40")
    # Transfer: alice sells her YES to carol at 0.70 (carol opens YES, alice closes).
    await order(api, carol, mid, action="buy", side="yes", count=10, price="0.70")
    sold = await order(api, alice, mid, action="sell", side="yes", count=10, price="0.70")
    assert sold.json()["status"] == "filled"
    assert [f["kind"] for f in sold.json()["fills"]] == ["transfer"]
    assert await wallet_micros(alice.id) == (100 * DOLLARS + 1 * DOLLARS, 0)
    assert await escrow_micros(mid) == 10 * DOLLARS
    # Merge: carol sells YES at 0.65 while bob sells NO at 0.35: both close, $10 leaves escrow.
    await order(api, carol, mid, action="sell", side="yes", count=10, price="0.65")
    merged = await order(api, bob, mid, action="sell", side="no", count=10, price="0.35")
    assert [f["kind"] for f in merged.json()["fills"]] == ["merge"]
    assert await escrow_micros(mid) == 0
    assert await wallet_micros(bob.id) == (100 * DOLLARS - 4 * DOLLARS + 3_500_000, 0)
    assert await wallet_micros(carol.id) == (100 * DOLLARS - 7 * DOLLARS + 6_500_000, 0)
    assert (await market_row(mid)).open_interest == 0
    realized = {
        p["market_id"]: p["realized_pnl"]
        for p in (await api.get("/v1/me/positions", headers=carol.headers)).json()
    }
    assert realized[mid] == "-0.50"


async def test_partial_fill_then_cancel_releases_the_rest_of_the_hold(
    api: httpx.AsyncClient,
) -> None:
    _, (alice, bob), mid = await _market_with_traders(api, 2, taker_fee_rate="0")
    placed = (await order(api, alice, mid, action="buy", side="yes", count=10, price="0.50")).json()
    assert await wallet_micros(alice.id) == (95 * DOLLARS, 5 * DOLLARS)
    await order(api, bob, mid, action="sell", side="yes", count=4, price="0.50")
    mine = (await api.get(f"/v1/orders/{placed['id']}", headers=alice.headers)).json()
    assert (mine["filled_count"], mine["remaining_count"], mine["status"]) == (4, 6, "resting")
    cancelled = await api.delete(f"/v1/orders/{placed['id']}", headers=alice.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert await wallet_micros(alice.id) == (98 * DOLLARS, 0)
    again = await api.delete(f"/v1/orders/{placed['id']}", headers=alice.headers)
    assert again.status_code == 409


async def _status_once_not_resting(api: httpx.AsyncClient, user: Trader, order_id: str) -> str:
    """The order's status once it has left the book (or `resting` after 10 s)."""
    import asyncio

    for _ in range(100):
        answer = await api.get(f"/v1/orders/{order_id}", headers=user.headers)
        status = str(answer.json()["status"])
        if status != "resting":
            break
        await asyncio.sleep(0.1)
    return status


async def test_gtd_order_expires_on_its_timer(api: httpx.AsyncClient) -> None:
    from datetime import UTC, datetime, timedelta

    _, (alice,), mid = await _market_with_traders(api, 1)
    expires = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    placed = await order(
        api, alice, mid, action="buy", side="yes", count=5, price="0.30",
        time_in_force="gtd", expires_at=expires,
    )  # fmt: skip
    assert placed.json()["status"] == "resting"
    assert await _status_once_not_resting(api, alice, placed.json()["id"]) == "expired"
    assert await wallet_micros(alice.id) == (100 * DOLLARS, 0)


async def test_insufficient_funds_and_position_change_nothing(api: httpx.AsyncClient) -> None:
    _, (alice,), mid = await _market_with_traders(api, 1)
    broke = await order(api, alice, mid, action="buy", side="yes", count=1000, price="0.50")
    assert broke.status_code == 409 and broke.json()["error"]["code"] == "insufficient_funds"
    no_contracts = await order(
        api, alice, mid, action="sell", side="yes", count=5, price="0.50", reduce_only=True
    )
    assert no_contracts.status_code == 409
    assert no_contracts.json()["error"]["code"] == "insufficient_position"
    assert await wallet_micros(alice.id) == (100 * DOLLARS, 0)
    mine = (await api.get(f"/v1/me/orders?market_id={mid}", headers=alice.headers)).json()
    assert mine["items"] == []


async def test_post_only_that_would_take_is_rejected(api: httpx.AsyncClient) -> None:
    _, (alice, bob), mid = await _market_with_traders(api, 2)
    await order(api, alice, mid, action="sell", side="yes", count=5, price="0.55")
    taking = await order(
        api, bob, mid, action="buy", side="yes", count=5, price="0.55", post_only=True
    )
    assert taking.status_code == 409 and taking.json()["error"]["code"] == "would_take"
    assert await wallet_micros(bob.id) == (100 * DOLLARS, 0)


async def test_self_trade_prevention_cancels_the_resting_order(api: httpx.AsyncClient) -> None:
    _, (alice,), mid = await _market_with_traders(api, 1)
    resting = (
        await order(api, alice, mid, action="sell", side="yes", count=5, price="0.40")
    ).json()
    taker = (await order(api, alice, mid, action="buy", side="yes", count=5, price="0.40")).json()
    assert taker["filled_count"] == 0 and taker["status"] == "resting"
    first = (await api.get(f"/v1/orders/{resting['id']}", headers=alice.headers)).json()
    assert first["status"] == "cancelled"


async def test_repeated_client_order_id_returns_the_first_order(api: httpx.AsyncClient) -> None:
    _, (alice,), mid = await _market_with_traders(api, 1)
    body = {"action": "buy", "side": "yes", "count": 3, "price": "0.20", "client_order_id": "bot-1"}
    first = await order(api, alice, mid, **body)
    again = await order(api, alice, mid, **body)
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert await wallet_micros(alice.id) == (100 * DOLLARS - 600_000, 600_000)


async def test_bad_orders_are_invalid_before_anything_is_recorded(api: httpx.AsyncClient) -> None:
    _, (alice,), mid = await _market_with_traders(api, 1)
    for bad in (
        {"action": "buy", "side": "yes", "count": 0, "price": "0.50"},
        {"action": "buy", "side": "yes", "count": 1, "price": "0.505"},
        {"action": "buy", "side": "yes", "count": 1, "price": "1.00"},
        {"action": "buy", "side": "yes", "count": 1, "price": "NaN"},
        {"action": "buy", "side": "yes", "count": 1, "price": "1e400"},
        {"action": "buy", "side": "yes", "count": 1},
        {"action": "buy", "side": "yes", "count": 1, "price": "0.5", "time_in_force": "gtd"},
        {"action": "hold", "side": "yes", "count": 1, "price": "0.5"},
        {"action": "buy", "side": "yes", "count": "1", "price": "0.5"},
    ):
        response = await order(api, alice, mid, **bad)
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["error"]["code"] == "invalid_request"
        assert response.json()["error"]["message"]
    assert await wallet_micros(alice.id) == (100 * DOLLARS, 0)
    unknown = await order(api, alice, "999999", action="buy", side="yes", count=1, price="0.5")
    assert unknown.status_code == 404


async def test_closing_cancels_resting_orders_and_refuses_new_ones(api: httpx.AsyncClient) -> None:
    admin, (alice,), mid = await _market_with_traders(api, 1)
    await order(api, alice, mid, action="buy", side="yes", count=10, price="0.30")
    closed = await api.post(f"/v1/markets/{mid}/close", headers=admin.headers)
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    assert await wallet_micros(alice.id) == (100 * DOLLARS, 0)
    late = await order(api, alice, mid, action="buy", side="yes", count=1, price="0.30")
    assert late.status_code == 409 and late.json()["error"]["code"] == "market_not_open"
    client_close = await api.post(f"/v1/markets/{mid}/close", headers=alice.headers)
    assert client_close.status_code == 403


async def test_an_order_expiring_while_paused_goes_at_resume_and_the_market_waits_quietly(
    api: httpx.AsyncClient, temporal_client: Client
) -> None:
    import asyncio
    from datetime import UTC, datetime, timedelta

    admin, (alice,), mid = await _market_with_traders(api, 1)
    expires = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    placed = await order(
        api, alice, mid, action="buy", side="yes", count=5, price="0.30",
        time_in_force="gtd", expires_at=expires,
    )  # fmt: skip
    assert (await api.post(f"/v1/markets/{mid}/pause", headers=admin.headers)).status_code == 200
    handle = temporal_client.get_workflow_handle(market_workflow_id(mid))
    await asyncio.sleep(1.5)
    events_then = len((await handle.fetch_history()).events)
    await asyncio.sleep(1.5)
    # Paused past the expiry: no timer spins on the past deadline (nothing is recorded).
    assert len((await handle.fetch_history()).events) == events_then
    order_url = f"/v1/orders/{placed.json()['id']}"
    assert (await api.get(order_url, headers=alice.headers)).json()["status"] == "resting"
    assert (await api.post(f"/v1/markets/{mid}/resume", headers=admin.headers)).status_code == 200
    assert await _status_once_not_resting(api, alice, placed.json()["id"]) == "expired"
    assert await wallet_micros(alice.id) == (100 * DOLLARS, 0)


async def test_pause_and_resume(api: httpx.AsyncClient) -> None:
    admin, (alice,), mid = await _market_with_traders(api, 1)
    assert (await api.post(f"/v1/markets/{mid}/pause", headers=admin.headers)).json()[
        "status"
    ] == "paused"
    paused = await order(api, alice, mid, action="buy", side="yes", count=1, price="0.30")
    assert paused.json()["error"]["code"] == "market_not_open"
    assert (await api.post(f"/v1/markets/{mid}/resume", headers=admin.headers)).json()[
        "status"
    ] == "open"
    assert (
        await order(api, alice, mid, action="buy", side="yes", count=1, price="0.30")
    ).status_code == 201


async def test_suspending_a_user_cancels_their_resting_orders(api: httpx.AsyncClient) -> None:
    admin, (alice,), mid = await _market_with_traders(api, 1)
    placed = (await order(api, alice, mid, action="buy", side="yes", count=10, price="0.30")).json()
    suspended = await api.patch(
        f"/v1/admin/users/{alice.id}", json={"status": "suspended"}, headers=admin.headers
    )
    assert suspended.status_code == 200, suspended.text
    async with connection() as conn:
        from sqlalchemy import text

        status = (
            await conn.execute(
                text("SELECT status FROM orders WHERE id = :id"), {"id": placed["id"]}
            )
        ).scalar_one()
    assert status == "cancelled"
    assert await wallet_micros(alice.id) == (100 * DOLLARS, 0)
    refused = await order(api, alice, mid, action="buy", side="yes", count=1, price="0.30")
    assert refused.status_code == 403


async def test_a_market_for_an_unknown_event_is_invalid(api: httpx.AsyncClient) -> None:
    from datetime import UTC, datetime, timedelta

    admin = await register(api, admin=True)
    close = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    for event_id in ("999999", "not-a-number"):
        response = await api.post(
            "/v1/markets",
            json={"title": "Orphan market", "close_time": close, "event_id": event_id},
            headers=admin.headers,
        )
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "invalid_request"


async def test_book_trades_and_candles_read_from_postgres(api: httpx.AsyncClient) -> None:
    _, (alice, bob), mid = await _market_with_traders(api, 2)
    await order(api, alice, mid, action="buy", side="yes", count=5, price="0.40")
    await order(api, alice, mid, action="buy", side="yes", count=3, price="0.45")
    await order(api, bob, mid, action="sell", side="yes", count=7, price="0.60")
    book = (await api.get(f"/v1/markets/{mid}/book?depth=5")).json()
    assert book["bids"] == [["0.45", 3], ["0.40", 5]]
    assert book["asks"] == [["0.60", 7]]
    await order(api, bob, mid, action="sell", side="yes", count=4, price="0.40")  # takes 3 + 1
    trades = (await api.get(f"/v1/markets/{mid}/trades")).json()["items"]
    assert [(t["price"], t["count"]) for t in trades] == [("0.40", 1), ("0.45", 3)]
    for interval in ("1m", "1h", "1d"):
        candles = (await api.get(f"/v1/markets/{mid}/candles?interval={interval}")).json()
        assert len(candles) == 1, candles
        c = candles[0]
        assert (c["open"], c["high"], c["low"], c["close"], c["volume"]) == (
            "0.45", "0.45", "0.40", "0.40", 4,
        )  # fmt: skip


async def test_a_client_order_id_the_database_cannot_store_never_reaches_the_market(
    api: httpx.AsyncClient, temporal_client: Client
) -> None:
    _, (alice,), mid = await _market_with_traders(api, 1)
    for bad in ("nul\u0000id", "x" * 65, "spaces are not ids", ""):
        response = await order(
            api, alice, mid, action="buy", side="yes", count=1, price="0.30", client_order_id=bad
        )
        assert response.status_code == 422, response.text
    # The workflow refuses it too, whoever sends the update (the Temporal CLI, a script).
    with pytest.raises(WorkflowUpdateFailedError):
        await temporal_client.get_workflow_handle(market_workflow_id(mid)).execute_update(
            "place_order",
            PlaceOrderRequest(
                user_id=int(alice.id),
                action="buy",
                side="yes",
                count=1,
                price=300_000,
                client_order_id="nul\u0000id",
            ),
            result_type=OrderView,
        )
    ok = await order(api, alice, mid, action="buy", side="yes", count=1, price="0.30")
    assert ok.status_code == 201  # the market still trades


async def test_closing_a_market_with_many_resting_orders_releases_every_hold(
    api: httpx.AsyncClient,
) -> None:
    admin, (alice, bob), mid = await _market_with_traders(api, 2)
    for price in ("0.10", "0.20", "0.30"):
        await order(api, alice, mid, action="buy", side="yes", count=10, price=price)
        await order(
            api, bob, mid, action="sell", side="yes", count=10, price=f"0.{int(price[2]) + 6}0"
        )
    cancelled = await api.delete(f"/v1/markets/{mid}/orders", headers=alice.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert len(cancelled.json()["cancelled"]) == 3
    assert await wallet_micros(alice.id) == (100 * DOLLARS, 0)
    closed = await api.post(f"/v1/markets/{mid}/close", headers=admin.headers)
    assert closed.status_code == 200, closed.text
    assert await wallet_micros(bob.id) == (100 * DOLLARS, 0)
    async with connection() as conn:
        assert (await reconcile(conn)).ok
