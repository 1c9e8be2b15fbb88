"""Users' alerts: price alerts fire once per crossing and re-arm when the price crosses back;
deleted alerts never fire; price moves, closing soon, market resolved; platform significant
moves reach holders; every alert notification is delivered like any other."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from services.notifications.delivery import SIGNATURE_HEADER, verify_webhook
from tests.helpers import Client, register
from tests.notifications.conftest import SmtpSink, WebhookReceiver, eventually
from tests.notifications.helpers import inbox, trader
from tests.resolution.helpers import market_with_holders, wait_for_status
from tests.trading.helpers import create_market, order


async def trade_at(
    api: httpx.AsyncClient, buyer: Client, seller: Client, mid: str, price: str
) -> None:
    """One contract changes hands at `price` (the buyer's resting bid is the maker)."""
    bid = await order(api, buyer, mid, action="buy", side="yes", count=1, price=price)
    assert bid.status_code == 201, bid.text
    hit = await order(api, seller, mid, action="sell", side="yes", count=1, price=price)
    assert hit.json()["status"] == "filled", hit.text


async def alert(api: httpx.AsyncClient, who: Client, **body: Any) -> dict[str, Any]:
    created = await api.post("/v1/me/alerts", json=body, headers=who.headers)
    assert created.status_code == 201, created.text
    return dict(created.json())


async def of_kind(api: httpx.AsyncClient, who: Client, kind: str) -> list[dict[str, Any]]:
    return [n for n in await inbox(api, who, limit=200) if n["kind"] == kind]


async def test_price_above_fires_once_per_crossing_and_rearms(
    api: httpx.AsyncClient, smtp_sink: SmtpSink, webhooks: WebhookReceiver
) -> None:
    admin = await register(api, admin=True)
    (watcher, secret), (buyer, _), (seller, _) = (
        await trader(api, webhooks), await trader(api), await trader(api)
    )  # fmt: skip
    mid = (await create_market(api, admin, taker_fee_rate="0"))["id"]
    above = await alert(api, watcher, market_id=mid, kind="price_above", threshold="0.60")
    assert above["armed"] is True

    await trade_at(api, buyer, seller, mid, "0.50")
    await trade_at(api, buyer, seller, mid, "0.65")  # crosses: fires
    await trade_at(api, buyer, seller, mid, "0.70")  # still above: nothing
    fired = await eventually(lambda: of_kind(api, watcher, "price_above"))
    assert len(fired) == 1 and fired[0]["data"]["price"] == "0.65"
    await trade_at(api, buyer, seller, mid, "0.55")  # back below: re-armed
    state = (await api.get(f"/v1/me/alerts/{above['id']}", headers=watcher.headers)).json()
    assert state["armed"] is True and state["fired_count"] == 1
    await trade_at(api, buyer, seller, mid, "0.62")  # crosses again: fires again
    fired = await eventually(lambda: _count(of_kind(api, watcher, "price_above"), 2))
    assert [n["data"]["price"] for n in fired] == ["0.62", "0.65"]
    # Delivered like any other notification: email and signed webhook.
    await eventually(lambda: smtp_sink.kinds_to(watcher.email).count("price_above") == 2)
    await eventually(
        lambda: sum(h.json["kind"] == "price_above" for h in webhooks.at(f"ok/{watcher.id}")) == 2
    )
    assert secret is not None
    for hook in webhooks.at(f"ok/{watcher.id}"):
        assert verify_webhook(secret, hook.headers[SIGNATURE_HEADER], hook.body)


async def _count(items: Any, n: int) -> Any:
    found = await items
    return found if len(found) == n else None


async def test_price_below_and_price_move_and_deleted_alerts(api: httpx.AsyncClient) -> None:
    admin = await register(api, admin=True)
    (watcher, _), (buyer, _), (seller, _) = (
        await trader(api), await trader(api), await trader(api)
    )  # fmt: skip
    mid = (await create_market(api, admin, taker_fee_rate="0"))["id"]
    await trade_at(api, buyer, seller, mid, "0.50")
    below = await alert(api, watcher, market_id=mid, kind="price_below", threshold="0.40")
    move = await alert(
        api, watcher, market_id=mid, kind="price_move", threshold="0.10", window_seconds=600
    )
    gone = await alert(api, watcher, market_id=mid, kind="price_below", threshold="0.45")
    deleted = await api.delete(f"/v1/me/alerts/{gone['id']}", headers=watcher.headers)
    assert deleted.status_code == 204
    listed = (await api.get("/v1/me/alerts", headers=watcher.headers)).json()["items"]
    assert {a["id"] for a in listed} == {below["id"], move["id"]}

    await trade_at(api, buyer, seller, mid, "0.38")  # below 0.40, and moved 0.12
    fired_below = await eventually(lambda: of_kind(api, watcher, "price_below"))
    assert len(fired_below) == 1 and fired_below[0]["data"]["alert_id"] == below["id"]
    fired_move = await eventually(lambda: of_kind(api, watcher, "price_move"))
    assert len(fired_move) == 1
    await trade_at(api, buyer, seller, mid, "0.35")
    assert len(await of_kind(api, watcher, "price_below")) == 1
    assert len(await of_kind(api, watcher, "price_move")) == 1


async def test_closing_soon_fires_on_its_timer(api: httpx.AsyncClient) -> None:
    admin = await register(api, admin=True)
    watcher, _ = await trader(api)
    close = datetime.now(UTC) + timedelta(seconds=63)
    mid = (await create_market(api, admin, close_time=close.isoformat()))["id"]
    soon = await alert(api, watcher, market_id=mid, kind="closing_soon", window_seconds=60)
    fired = await eventually(lambda: of_kind(api, watcher, "closing_soon"), within=30)
    assert len(fired) == 1 and fired[0]["data"]["alert_id"] == soon["id"]


async def test_market_resolved_alerts_and_payout_notices_are_delivered(
    api: httpx.AsyncClient, smtp_sink: SmtpSink
) -> None:
    t = await market_with_holders(api)
    mid = t.market["id"]
    watcher, _ = await trader(api)
    await alert(api, watcher, market_id=mid, kind="market_resolved")
    resolved = await api.post(
        f"/v1/markets/{mid}/resolve", json={"outcome": "yes"}, headers=t.admin.headers
    )
    assert resolved.status_code == 200, resolved.text
    await wait_for_status(api, mid, "settled")
    note = (await eventually(lambda: of_kind(api, watcher, "market_resolved")))[0]
    assert note["data"]["outcome"] == "yes"
    alice = t.users["alice"]
    paid = (await eventually(lambda: of_kind(api, alice, "market_resolved")))[0]
    assert paid["data"]["payout"] == "7.00"
    # Holders' payout notices go out by email like everything else.
    await eventually(lambda: "market_resolved" in smtp_sink.kinds_to(alice.email))
    await eventually(lambda: "market_resolved" in smtp_sink.kinds_to(watcher.email))


async def test_significant_moves_reach_holders(api: httpx.AsyncClient) -> None:
    admin = await register(api, admin=True)
    (holder, _), (buyer, _), (seller, _), (bystander, _) = (
        await trader(api), await trader(api), await trader(api), await trader(api)
    )  # fmt: skip
    mid = (await create_market(api, admin, taker_fee_rate="0"))["id"]
    await trade_at(api, holder, seller, mid, "0.40")  # holder now holds 1 YES
    await trade_at(api, buyer, seller, mid, "0.60")  # +0.20 within the window
    moved = await eventually(lambda: of_kind(api, holder, "significant_move"))
    assert moved[0]["data"]["direction"] == "up"
    assert await of_kind(api, bystander, "significant_move") == []
