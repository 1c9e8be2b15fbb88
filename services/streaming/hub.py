"""One LISTEN connection per API process, fanning stream events out to its SSE clients.

Writers NOTIFY `<key>:<first_seq>:<last_seq>` at commit. The hub collects notices, reads the
announced rows in one query per round, encodes each event ONCE and frames each stream's share of
the round ONCE (`wire.Batch`). A subscriber whose socket is keeping up gets that frame written
straight to its socket; otherwise the round's messages go to its bounded queue, which its sender
task drains. A subscriber that falls `queue_size` messages behind is closed (its client resumes
with Last-Event-ID). Heartbeats come from one timer for all subscribers, in slices over the
period, so an idle connection costs no timer of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from itertools import groupby
from operator import itemgetter
from typing import Any

import asyncpg

from services.streaming.user_events import USER_CHANNEL
from services.streaming.wire import HEARTBEAT_BATCH, Batch, DirectWriter, Message, encode_event
from services.trading.stream import MARKET_CHANNEL

log = logging.getLogger(__name__)

# Kinds the all-markets stream carries.
ALL_MARKETS_KINDS = frozenset({"ticker", "status", "significant_move"})
# Each subscriber gets a heartbeat once per period, but the period's heartbeats go out in this
# many slices: ten thousand sockets written at once would hold up the live events queued behind.
HEARTBEAT_SLICES = 15


class Subscription:
    """One client's stream: its direct writer while live and idle, else a queue of messages.

    `floor` is the last sequence number the client has (or will have) been sent; anything at or
    below it is dropped, which closes the race between subscribing and the snapshot or replay.
    """

    __slots__ = (
        "closed",
        "direct",
        "floor",
        "key",
        "limit",
        "on_kill",
        "pending",
        "reason",
        "slot",
        "table",
        "wakeup",
    )

    def __init__(self, limit: int, slot: int = 0) -> None:
        self.pending: deque[Message] = deque()
        self.wakeup = asyncio.Event()
        self.limit = limit
        self.slot = slot  # which heartbeat slice it is in
        self.floor = -1
        # Set by the sender task only while it waits with nothing queued, so a direct write can
        # never overtake queued bytes.
        self.direct: DirectWriter | None = None
        self.closed = False
        self.reason = ""
        self.on_kill: Callable[[], None] | None = None
        self.table: dict[int, set[Subscription]] | None = None  # where the hub filed it
        self.key = 0

    def offer(self, batch: Batch) -> None:
        """Deliver one round: straight to the socket if it keeps up, else through the queue."""
        direct = self.direct
        if (
            direct is not None
            and (batch.first is None or batch.first > self.floor)
            and direct.ready()
        ):
            direct.write(batch.frame)
            if batch.last is not None:
                self.floor = batch.last
            return
        for seq, message in batch.messages:
            self.push(seq, message)

    def push(self, seq: int | None, message: bytes) -> None:
        if self.closed:
            return
        if len(self.pending) >= self.limit:
            self.close("lagging")
            return
        self.pending.append((seq, message))
        self.wakeup.set()

    def heartbeat(self) -> None:
        if not self.closed and not self.pending:
            self.offer(HEARTBEAT_BATCH)

    def take(self) -> list[bytes]:
        """The queued messages not yet sent (above the floor), which raises the floor."""
        floor = self.floor
        fresh: list[bytes] = []
        for seq, message in self.pending:
            if seq is not None:
                if seq <= floor:
                    continue
                floor = seq
            fresh.append(message)
        self.floor = floor
        self.pending.clear()
        self.wakeup.clear()
        return fresh

    def close(self, reason: str) -> None:
        """Stop the stream: drop what is queued; a sender stuck on a full socket is cancelled."""
        if self.closed:
            return
        self.closed = True
        self.direct = None
        self.reason = reason
        self.pending.clear()
        self.wakeup.set()
        if self.on_kill is not None:
            self.on_kill()


class StreamHub:
    def __init__(self, dsn: str, *, queue_size: int, heartbeat_seconds: float) -> None:
        self.dsn = dsn
        self.queue_size = queue_size
        self.heartbeat_seconds = heartbeat_seconds
        self.markets: dict[int, set[Subscription]] = {}
        self.users: dict[int, set[Subscription]] = {}
        self.everyone: set[Subscription] = set()
        self.delivered = 0  # messages queued to clients, for metrics and benchmarks
        self._notices: list[tuple[str, str]] = []
        self._notice = asyncio.Event()
        self._conn: asyncpg.Connection | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._connected = asyncio.Event()
        self._subscribed = 0

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        await self._connect()
        self._tasks = [
            asyncio.create_task(self._dispatch_forever(), name="stream-dispatch"),
            asyncio.create_task(self._heartbeat_forever(), name="stream-heartbeat"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._close_all("shutdown")
        if self._conn is not None:
            self._conn.remove_termination_listener(self._on_lost)
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None

    async def _connect(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        await conn.add_listener(MARKET_CHANNEL, self._on_notify)
        await conn.add_listener(USER_CHANNEL, self._on_notify)
        conn.add_termination_listener(self._on_lost)
        self._conn = conn
        self._connected.set()

    def _on_notify(self, _conn: Any, _pid: int, channel: str, payload: str) -> None:
        self._notices.append((channel, payload))
        self._notice.set()

    def _on_lost(self, _conn: Any) -> None:
        # Notices may have been lost: end every stream; clients resume from their last id.
        log.warning("stream listener connection lost; closing streams and reconnecting")
        self._connected.clear()
        self._conn = None
        self._close_all("listener reconnecting")
        self._notice.set()

    def _close_all(self, reason: str) -> None:
        for subs in (*self.markets.values(), *self.users.values(), self.everyone):
            for sub in list(subs):
                sub.close(reason)

    @property
    def ready(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    # ---------------------------------------------------------------- subscriptions

    def subscribe_market(self, market_id: int) -> Subscription:
        return self._file(self.markets, market_id)

    def subscribe_user(self, user_id: int) -> Subscription:
        return self._file(self.users, user_id)

    def _file(self, table: dict[int, set[Subscription]], key: int) -> Subscription:
        sub = self._new_subscription()
        sub.table, sub.key = table, key
        table.setdefault(key, set()).add(sub)
        return sub

    def subscribe_all(self) -> Subscription:
        sub = self._new_subscription()
        self.everyone.add(sub)
        return sub

    def _new_subscription(self) -> Subscription:
        self._subscribed += 1
        return Subscription(self.queue_size, self._subscribed % HEARTBEAT_SLICES)

    def unsubscribe(self, sub: Subscription) -> None:
        self.everyone.discard(sub)
        if sub.table is not None:
            subs = sub.table.get(sub.key)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del sub.table[sub.key]

    @property
    def subscriber_count(self) -> int:
        return (
            len(self.everyone)
            + sum(len(s) for s in self.markets.values())
            + sum(len(s) for s in self.users.values())
        )

    # ---------------------------------------------------------------- fan-out

    async def _heartbeat_forever(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self.heartbeat_seconds / HEARTBEAT_SLICES
        due = loop.time()
        tick = 0
        while True:
            # Ticks keep to a fixed schedule, so a slice's heartbeats never drift past the period.
            due += interval
            await asyncio.sleep(max(0.0, due - loop.time()))
            tick = (tick + 1) % HEARTBEAT_SLICES
            self._heartbeat_slice(tick)

    def _heartbeat_slice(self, tick: int) -> None:
        for subs in (*self.markets.values(), *self.users.values(), self.everyone):
            for sub in subs:
                if sub.slot == tick:
                    sub.heartbeat()

    async def _dispatch_forever(self) -> None:
        while True:
            await self._notice.wait()
            self._notice.clear()
            if self._conn is None:
                await self._reconnect()
                continue
            notices, self._notices = self._notices, []
            try:
                await self._dispatch(notices)
            except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
                log.exception("stream dispatch failed; closing streams")
                self._close_all("listener error")

    async def _reconnect(self) -> None:
        delay = 0.1
        while self._conn is None:
            try:
                await self._connect()
            except (OSError, asyncpg.PostgresError):
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _dispatch(self, notices: list[tuple[str, str]]) -> None:
        assert self._conn is not None
        markets: list[tuple[int, int, int]] = []
        users: list[tuple[int, int, int]] = []
        for channel, payload in notices:
            key, first, last = (int(part) for part in payload.split(":"))
            if channel == MARKET_CHANNEL and (self.everyone or key in self.markets):
                markets.append((key, first, last))
            elif channel == USER_CHANNEL and key in self.users:
                users.append((key, first, last))
        if markets:
            rows = await self._conn.fetch(
                _RANGE_QUERY.format(table="market_events", key="market_id"),
                *zip(*markets, strict=True),
            )
            self._fan_out_markets(rows)
        if users:
            rows = await self._conn.fetch(
                _RANGE_QUERY.format(table="user_events", key="user_id"), *zip(*users, strict=True)
            )
            for key, group in groupby(rows, key=itemgetter(0)):
                self._deliver(self.users.get(key), [_message(row) for row in group])

    def _fan_out_markets(self, rows: list[Any]) -> None:
        # The all-markets stream carries state, so only the latest ticker per market of a round
        # is sent: under load, tickers coalesce instead of piling up.
        to_everyone: list[Message] = []
        for key, group in groupby(rows, key=itemgetter(0)):
            events = list(group)
            subs = self.markets.get(key)
            if subs:
                self._deliver(subs, [_message(row) for row in events])
            if self.everyone:
                to_everyone.extend(_latest_state(events))
        self._deliver(self.everyone, to_everyone)

    def _deliver(self, subs: set[Subscription] | None, messages: list[Message]) -> None:
        if not subs or not messages:
            return
        batch = Batch(messages)
        for sub in list(subs):
            sub.offer(batch)
        self.delivered += len(subs) * len(messages)


def _message(row: Any) -> Message:
    _key, seq, kind, payload = row
    return seq, encode_event(kind, payload, seq)


def _latest_state(events: list[Any]) -> list[Message]:
    """One market's events of a round as the all-markets stream sends them (no ids)."""
    last_ticker = max((i for i, row in enumerate(events) if row[2] == "ticker"), default=-1)
    return [
        (None, encode_event(kind, payload))
        for i, (_key, _seq, kind, payload) in enumerate(events)
        if kind in ALL_MARKETS_KINDS and (kind != "ticker" or i == last_ticker)
    ]


_RANGE_QUERY = (
    "SELECT e.{key}, e.seq, e.kind, e.payload::text "
    "FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS r(k, first, last) "
    "JOIN {table} e ON e.{key} = r.k AND e.seq BETWEEN r.first AND r.last "
    "ORDER BY e.{key}, e.seq"
)
