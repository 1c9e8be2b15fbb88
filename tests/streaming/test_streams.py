"""The price streams over real HTTP: order, payloads, replay, replicas, slow clients, auth."""

from __future__ import annotations

import asyncio
import json
import socket

import httpx
from sqlalchemy import text

from core.db import connection, transaction
from services.trading.stream import MarketEventWriter
from tests.helpers import fund, register
from tests.streaming.helpers import (
    STALL_GUARD_SECONDS,
    ApiServer,
    Event,
    SseReader,
    open_stream,
    parse_events,
    read_chunk,
)
from tests.trading.helpers import create_market, order

DOLLARS = 1_000_000


async def _stored_seqs(market_id: str) -> list[tuple[int, str]]:
    async with connection() as conn:
        rows = await conn.execute(
            text("SELECT seq, kind FROM market_events WHERE market_id = :m ORDER BY seq"),
            {"m": int(market_id)},
        )
        return [(int(s), k) for s, k in rows]


async def _write_events(market_id: str, count: int, size: int = 0) -> None:
    """Stream events written the way the trade engine writes them, without trading."""
    for i in range(count):
        async with transaction() as conn:
            writer = MarketEventWriter(conn, int(market_id))
            writer.add("status", {"status": "open", "n": i, "padding": "x" * size})
            await writer.flush()


async def _own_trading_events(stream: SseReader, count: int) -> list[Event]:
    """The next `count` order, fill and wallet events (notifications share the stream)."""
    found: list[Event] = []
    for _ in range(count * 5):
        event = await stream.next()
        assert event is not None
        if event.kind in ("order", "fill", "wallet"):
            found.append(event)
            if len(found) == count:
                return found
    raise AssertionError(f"only {found}")


async def test_market_stream_sends_snapshot_then_trade_events_in_order(
    api: httpx.AsyncClient, servers: tuple[ApiServer, ApiServer]
) -> None:
    admin, alice, bob = await register(api, admin=True), await register(api), await register(api)
    await fund(alice.id, 100 * DOLLARS)
    await fund(bob.id, 100 * DOLLARS)
    market = await create_market(api, admin)
    async with open_stream(servers[0].url, f"/v1/stream/markets/{market['id']}") as stream:
        snapshot = await stream.next()
        assert snapshot is not None and snapshot.kind == "snapshot"
        assert snapshot.data["status"] == "open"
        assert snapshot.data["book"] == {"bids": [], "asks": []}
        rest = await order(
            api, alice, market["id"], action="buy", side="yes", count=10, price="0.60"
        )
        assert rest.status_code == 201, rest.text
        take = await order(api, bob, market["id"], action="buy", side="no", count=4, price="0.40")
        assert take.status_code == 201, take.text

        events = await stream.take(5)
        assert [e.kind for e in events] == ["ticker", "book", "trade", "ticker", "book"]
        assert [e.id for e in events] == list(range(snapshot.id + 1, snapshot.id + 6))
        assert events[0].data["best_bid"] == "0.60"
        assert events[1].data == {"market_id": market["id"], "bids": [["0.60", 10]], "asks": []}
        trade = events[2].data
        assert (trade["price"], trade["count"], trade["kind"]) == ("0.60", 4, "mint")
        assert events[3].data["last_price"] == "0.60" and events[3].data["volume"] == 4
        assert events[4].data["bids"] == [["0.60", 6]]


async def test_a_committed_round_reaches_a_live_client_as_one_chunk_of_its_events(
    api: httpx.AsyncClient, servers: tuple[ApiServer, ApiServer]
) -> None:
    admin = await register(api, admin=True)
    market = await create_market(api, admin)
    reader, writer = await asyncio.open_connection("127.0.0.1", servers[0].port)
    try:
        writer.write(f"GET /v1/stream/markets/{market['id']} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and b"transfer-encoding: chunked" in head
        snapshot = None
        while snapshot is None:
            snapshot = next((e for e in parse_events(await read_chunk(reader))), None)
        assert snapshot.kind == "snapshot" and snapshot.id is not None
        async with transaction() as conn:  # one commit, one round
            round_writer = MarketEventWriter(conn, int(market["id"]))
            for n in range(3):
                round_writer.add("status", {"status": "open", "n": n})
            await round_writer.flush()
        events: list[Event] = []
        while not events:  # a heartbeat may come first
            events = parse_events(await read_chunk(reader))
        assert [(e.id, e.data["n"]) for e in events] == [
            (snapshot.id + 1, 0),
            (snapshot.id + 2, 1),
            (snapshot.id + 3, 2),
        ]
    finally:
        writer.close()


async def test_a_big_move_is_announced_on_the_market_and_all_markets_streams(
    api: httpx.AsyncClient, servers: tuple[ApiServer, ApiServer]
) -> None:
    admin, alice, bob = await register(api, admin=True), await register(api), await register(api)
    await fund(alice.id, 100 * DOLLARS)
    await fund(bob.id, 100 * DOLLARS)
    market = await create_market(api, admin)
    async with (
        open_stream(servers[0].url, "/v1/stream/markets") as everything,
        open_stream(servers[0].url, f"/v1/stream/markets/{market['id']}") as one,
    ):
        for price in ("0.50", "0.65"):
            await order(api, alice, market["id"], action="buy", side="yes", count=1, price=price)
            done = await order(
                api, bob, market["id"], action="sell", side="yes", count=1, price=price
            )
            assert done.json()["status"] == "filled", done.text
        moves = []
        for _ in range(30):
            event = await one.next()
            assert event is not None
            if event.kind == "significant_move":
                moves.append(event.data)
                break
        assert moves and moves[0]["direction"] == "up"
        assert (moves[0]["from"], moves[0]["to"], moves[0]["change"]) == ("0.50", "0.65", "+0.15")
        for _ in range(30):
            event = await everything.next()
            assert event is not None and event.kind in ("ticker", "status", "significant_move")
            if event.kind == "significant_move" and event.data["market_id"] == market["id"]:
                break
        else:
            raise AssertionError("no significant_move on the all-markets stream")


async def test_reconnecting_in_a_burst_replays_without_gap_or_duplicate(
    api: httpx.AsyncClient, servers: tuple[ApiServer, ApiServer]
) -> None:
    admin, alice, bob = await register(api, admin=True), await register(api), await register(api)
    await fund(alice.id, 1000 * DOLLARS)
    await fund(bob.id, 1000 * DOLLARS)
    market = await create_market(api, admin)
    path = f"/v1/stream/markets/{market['id']}"

    async def burst() -> None:
        for i in range(15):
            await order(api, alice, market["id"], action="buy", side="yes", count=2, price="0.55")
            await order(api, bob, market["id"], action="buy", side="no", count=1, price="0.45")
            if i % 5 == 4:
                await _write_events(market["id"], 3)

    seen: list[int] = []
    async with open_stream(servers[0].url, path) as stream:
        snapshot = await stream.next()
        assert snapshot is not None and snapshot.id is not None
        start = snapshot.id
        trading = asyncio.create_task(burst())
        for event in await stream.take(7):
            assert event.id is not None
            seen.append(event.id)
    # Disconnected in the middle of the burst; resume from the last id on the other replica.
    async with open_stream(servers[1].url, path, {"Last-Event-ID": str(seen[-1])}) as stream:
        await trading
        last = (await _stored_seqs(market["id"]))[-1][0]
        while seen[-1] < last:
            event = await stream.next()
            assert event is not None and event.id is not None
            seen.append(event.id)
    assert seen == list(range(start + 1, last + 1))


async def test_two_api_processes_serve_the_same_stream(
    api: httpx.AsyncClient, servers: tuple[ApiServer, ApiServer]
) -> None:
    admin = await register(api, admin=True)
    market = await create_market(api, admin)
    path = f"/v1/stream/markets/{market['id']}"
    async with (
        open_stream(servers[0].url, path) as first,
        open_stream(servers[1].url, path) as second,
    ):
        snap_first, snap_second = await first.next(), await second.next()
        assert snap_first is not None and snap_second is not None
        assert snap_first.id == snap_second.id
        await _write_events(market["id"], 20)
        got_first = [(e.id, e.data["n"]) for e in await first.take(20)]
        got_second = [(e.id, e.data["n"]) for e in await second.take(20)]
    assert got_first == got_second
    assert [n for _, n in got_first] == list(range(20))


async def test_a_stalled_client_is_cut_off_without_delaying_another(
    api: httpx.AsyncClient, servers: tuple[ApiServer, ApiServer]
) -> None:
    admin = await register(api, admin=True)
    market = await create_market(api, admin)
    server = servers[1]  # 20 messages of queue per client
    path = f"/v1/stream/markets/{market['id']}"
    # The stalled client: a raw socket with a tiny receive buffer that never reads.
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", server.port))
    stalled.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
    # Enough bytes to fill the kernel's socket buffers (up to 4 MiB here) and then the queue.
    count = 400
    try:
        async with open_stream(server.url, path) as healthy:
            snapshot = await healthy.next()
            assert snapshot is not None
            writing = asyncio.create_task(_write_events(market["id"], count, size=30_000))
            received = [e.data["n"] for e in await healthy.take(count)]
            await writing
        assert received == list(range(count))
        # The stalled stream was ended (the response completes, or the connection is dropped
        # if the socket stayed full): reading it now stops before the last event.
        stalled.setblocking(True)
        stalled.settimeout(STALL_GUARD_SECONDS)
        data = b""
        while not data.endswith(b"\r\n0\r\n\r\n"):
            chunk = stalled.recv(1 << 20)
            if not chunk:
                break
            data += chunk
        ids = [int(line[4:]) for line in data.split(b"\n") if line.startswith(b"id: ")]
        assert ids and ids[-1] < snapshot.id + count  # cut off, but...
        assert ids == list(range(ids[0], ids[-1] + 1))  # ...what it got was in order
    finally:
        stalled.close()
    # It resumes from its last id and gets the rest.
    async with open_stream(server.url, path, {"Last-Event-ID": str(ids[-1])}) as resumed:
        rest = await resumed.take(snapshot.id + count - ids[-1])
    assert [e.id for e in rest] == list(range(ids[-1] + 1, snapshot.id + count + 1))


async def test_the_user_stream_needs_auth_and_shows_only_the_callers_events(
    api: httpx.AsyncClient, servers: tuple[ApiServer, ApiServer]
) -> None:
    admin, alice, bob = await register(api, admin=True), await register(api), await register(api)
    await fund(alice.id, 100 * DOLLARS)
    await fund(bob.id, 100 * DOLLARS)
    market = await create_market(api, admin)
    async with httpx.AsyncClient(base_url=servers[0].url) as plain:
        refused = await plain.get("/v1/stream/me")
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"
        bad = await plain.get("/v1/stream/me", headers={"Authorization": "Bearer nonsense"})
        assert bad.status_code == 401
    async with (
        open_stream(servers[0].url, "/v1/stream/me", alice.headers) as alices,
        open_stream(servers[1].url, "/v1/stream/me", bob.headers) as bobs,
    ):
        rest = await order(
            api, alice, market["id"], action="buy", side="yes", count=5, price="0.70"
        )
        take = await order(api, bob, market["id"], action="sell", side="yes", count=5, price="0.70")
        assert take.json()["status"] == "filled", take.text
        # Alice: her resting order and wallet, then her maker fill, order and wallet.
        mine = await _own_trading_events(alices, 5)
        assert [e.kind for e in mine] == ["order", "wallet", "fill", "order", "wallet"]
        assert all(e.data.get("id", rest.json()["id"]) != take.json()["id"] for e in mine)
        assert mine[0].data["id"] == rest.json()["id"] and mine[0].data["status"] == "resting"
        assert mine[2].data["order_id"] == rest.json()["id"] and not mine[2].data["is_taker"]
        assert mine[3].data["status"] == "filled"
        theirs = await _own_trading_events(bobs, 3)
        assert [e.kind for e in theirs] == ["fill", "order", "wallet"]
        assert theirs[0].data["order_id"] == take.json()["id"] and theirs[0].data["is_taker"]
        ids = [e.id for e in mine]
        assert ids == sorted(set(ids))
    # Alice resumes after her first event and gets exactly the rest of hers.
    headers = {**alice.headers, "Last-Event-ID": str(ids[0])}
    async with open_stream(servers[1].url, "/v1/stream/me", headers) as again:
        replayed = await _own_trading_events(again, 4)
    assert [(e.id, e.kind) for e in replayed] == [(e.id, e.kind) for e in mine[1:]]
    assert json.dumps(replayed[0].data) == json.dumps(mine[1].data)
