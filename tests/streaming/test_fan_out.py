"""The hub's fan-out without a server: each round is encoded and framed once, written straight to
the sockets that keep up, and queued (with the same ids, no duplicates) for those that do not."""

from __future__ import annotations

from typing import Any

from services.streaming.hub import HEARTBEAT_SLICES, StreamHub, Subscription
from services.streaming.wire import (
    HEARTBEAT,
    SERVER_SEND,
    Batch,
    DirectWriter,
    direct_writer,
    encode_event,
)
from tests.streaming.helpers import parse_chunks, parse_events


class FakeTransport:
    """What the hub uses of a socket's transport; `buffered` > 0 means the socket is full."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.buffered = 0
        self.closing = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def is_closing(self) -> bool:
        return self.closing


def _live(sub: Subscription) -> FakeTransport:
    """Give `sub` a direct writer, as its sender task does while it waits with nothing queued."""
    transport = FakeTransport()
    sub.direct = DirectWriter(transport)  # type: ignore[arg-type]
    return transport


def _round(first: int) -> Batch:
    return Batch(
        [
            (first, encode_event("trade", '{"price": "0.60", "count": 4}', first)),
            (first + 1, encode_event("ticker", '{"last_price": "0.60"}', first + 1)),
            (first + 2, encode_event("book", '{"bids": [["0.60", 6]], "asks": []}', first + 2)),
        ]
    )


def _hub() -> StreamHub:
    return StreamHub("postgresql://unused", queue_size=10, heartbeat_seconds=15)


def test_a_round_is_one_chunk_that_parses_into_its_events_with_their_ids() -> None:
    (body,) = parse_chunks(_round(7).frame)
    events = parse_events(body)
    assert [(e.id, e.kind) for e in events] == [(7, "trade"), (8, "ticker"), (9, "book")]
    assert events[0].data == {"price": "0.60", "count": 4}
    assert events[2].data == {"bids": [["0.60", 6]], "asks": []}


def test_a_live_client_gets_the_round_written_straight_to_its_socket() -> None:
    sub = Subscription(limit=10)
    sub.floor = 6
    transport = _live(sub)
    batch = _round(7)
    sub.offer(batch)
    assert transport.written == [batch.frame]
    assert sub.floor == 9 and not sub.pending


def test_a_round_the_client_partly_has_is_queued_and_sent_without_duplicates() -> None:
    sub = Subscription(limit=10)
    sub.floor = 7  # the snapshot or replay already covered event 7
    transport = _live(sub)
    sub.offer(_round(7))
    assert transport.written == []
    assert [e.id for e in parse_events(b"".join(sub.take()))] == [8, 9]
    assert sub.floor == 9
    sub.offer(_round(7))  # a round it already has entirely is dropped
    assert transport.written == [] and sub.take() == []


def test_a_socket_that_stops_keeping_up_gets_the_queue_and_is_cut_off_past_the_limit() -> None:
    killed: list[bool] = []
    sub = Subscription(limit=4)
    sub.on_kill = lambda: killed.append(True)
    transport = _live(sub)
    transport.buffered = 1  # bytes are waiting in the transport: the kernel's buffer is full
    sub.offer(_round(1))
    assert transport.written == [] and len(sub.pending) == 3 and not sub.closed
    sub.offer(_round(4))
    assert sub.closed and sub.reason == "lagging" and killed == [True]
    assert sub.direct is None and not sub.pending


def test_nothing_is_written_to_a_closing_socket() -> None:
    sub = Subscription(limit=10)
    transport = _live(sub)
    transport.closing = True
    sub.offer(_round(1))
    assert transport.written == [] and len(sub.pending) == 3


def test_each_market_round_is_framed_once_for_all_its_subscribers() -> None:
    hub = _hub()
    first, second, other = (hub.subscribe_market(m) for m in (1, 1, 2))
    everyone = hub.subscribe_all()
    sockets = [_live(sub) for sub in (first, second, other, everyone)]
    rows: list[tuple[Any, ...]] = [
        (1, 10, "ticker", '{"n": 1}'),
        (1, 11, "book", '{"n": 2}'),
        (1, 12, "ticker", '{"n": 3}'),
        (2, 5, "status", '{"status": "closed"}'),
    ]
    hub._fan_out_markets(rows)
    assert sockets[0].written[0] is sockets[1].written[0]  # the same bytes object
    (body,) = parse_chunks(sockets[0].written[0])
    assert [e.id for e in parse_events(body)] == [10, 11, 12]
    (body,) = parse_chunks(sockets[2].written[0])
    assert [(e.id, e.kind) for e in parse_events(body)] == [(5, "status")]
    # All markets: the round's last ticker per market, then the status, without ids.
    (body,) = parse_chunks(sockets[3].written[0])
    assert [(e.id, e.kind, e.data) for e in parse_events(body)] == [
        (None, "ticker", {"n": 3}),
        (None, "status", {"status": "closed"}),
    ]
    assert hub.delivered == 2 * 3 + 1 + 2


def test_every_subscriber_gets_one_heartbeat_per_period_in_slices() -> None:
    hub = _hub()
    subs = [hub.subscribe_market(1) for _ in range(40)] + [hub.subscribe_user(9)]
    sockets = [_live(sub) for sub in subs]
    slices = []
    for tick in range(HEARTBEAT_SLICES):
        before = sum(len(s.written) for s in sockets)
        hub._heartbeat_slice(tick)
        slices.append(sum(len(s.written) for s in sockets) - before)
    assert all(s.written == [b"%x\r\n%b\r\n" % (len(HEARTBEAT), HEARTBEAT)] for s in sockets)
    assert max(slices) <= len(subs) // HEARTBEAT_SLICES + 1  # never all at once


def test_a_heartbeat_waits_behind_queued_messages() -> None:
    sub = Subscription(limit=10)
    sub.push(3, b"id: 3\n\n")
    sub.heartbeat()
    assert list(sub.pending) == [(3, b"id: 3\n\n")]


def test_direct_writes_only_where_the_server_frames_chunks_itself() -> None:
    class Cycle:  # the shape of uvicorn's httptools request-response cycle
        def __init__(self, chunked: bool | None) -> None:
            self.transport = FakeTransport()
            self.chunked_encoding = chunked

        async def send(self, message: Any) -> None:
            pass

    writer = direct_writer({SERVER_SEND: Cycle(True).send})
    assert writer is not None
    assert direct_writer({SERVER_SEND: Cycle(False).send}) is None  # a content-length body
    assert direct_writer({SERVER_SEND: Cycle(None).send}) is None

    async def plain_send(message: Any) -> None:
        pass

    assert direct_writer({SERVER_SEND: plain_send}) is None  # another server
    assert direct_writer({}) is None  # not served through StreamFastPath
