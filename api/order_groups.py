"""Orders to one market travel together: while this process has `in_flight` updates on their way
to a market's workflow, new orders for it wait here and go as one `place_orders` update.

Under load a Temporal update per order costs more than the order itself (the server's update
registry and history events, the client's and the worker's round trip): grouping the orders
that would have queued at the server anyway divides that cost by the group's size. On a quiet
market an order finds nothing in flight and goes alone at once as a `place_order` update; on a
busy one (another order arrived in the last BUSY_WITHIN) it first waits `gather` (10 ms) for
company.

Each order keeps its own answer: an engine rejection (insufficient funds...) is that order's
error. If the workflow's validator refuses the group (one order is invalid, the market is not
open), every order of the group is sent alone, so each gets its own verdict. An order's id
derives from its request id either way (workflows/market.py `_order_id`), so a group and a
retry of one of its orders alone land on the same order.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field

from temporalio.client import Client

from api.errors import ApiError
from api.market_calls import api_error_for_code, update_market
from models.trading import (
    GroupedOrder,
    OrderView,
    PlaceOrderRequest,
    PlaceOrdersRequest,
    PlaceOrdersResult,
)

log = logging.getLogger(__name__)

MAX_GROUP = 100  # the workflow's batch size: a larger group would be split there anyway
# A market is busy while its orders arrive less than this apart: only then do orders wait for
# company, so an order to a quiet market is not delayed.
BUSY_WITHIN = 1.0
# A group refused for these codes is retried order by order; any other failure (unavailable,
# a timeout) is every order's answer, as it would have been for each alone.
_SEND_ALONE_ON = frozenset({"invalid_request", "market_not_open"})


@dataclass
class _Waiting:
    grouped: GroupedOrder
    answer: asyncio.Future[OrderView]


@dataclass
class _MarketLane:
    """Orders of one market not yet sent, how many updates to it are in flight, and how long
    the last one took to answer."""

    waiting: list[_Waiting] = field(default_factory=list)
    in_flight: int = 0
    round_trip: float = 0.0
    lingering: asyncio.Handle | None = None
    linger_until: float = 0.0  # uvloop's handle of a zero delay does not know its time
    busy: bool = False


class OrderGroups:
    """One per API process (app.state.order_groups)."""

    def __init__(self, in_flight_per_market: int, gather_seconds: float = 0.0) -> None:
        self._in_flight_per_market = max(1, in_flight_per_market)
        self._gather = max(0.0, gather_seconds)
        self._lanes: dict[str, _MarketLane] = {}
        self._senders: set[asyncio.Task[None]] = set()
        self._last_arrival: dict[str, float] = {}  # by market
        self._prune_at = 4096  # entries; doubles past what a prune keeps, so pruning stays rare

    async def place(
        self, client: Client, market_id: str, request: PlaceOrderRequest, request_id: str
    ) -> OrderView:
        answer: asyncio.Future[OrderView] = asyncio.get_running_loop().create_future()
        lane = self._lanes.setdefault(market_id, _MarketLane())
        lane.busy = self._arrived(market_id)
        lane.waiting.append(_Waiting(GroupedOrder(request_id=request_id, order=request), answer))
        self._dispatch(client, market_id, lane)
        # A caller that goes away (the client hung up) cancels only its wait: its order is
        # placed all the same, as a single update's would be.
        return await answer

    def _arrived(self, market_id: str) -> bool:
        """Note an order's arrival; True if the market is busy (one arrived just before)."""
        now = time.monotonic()
        previous = self._last_arrival.get(market_id)
        self._last_arrival[market_id] = now
        if len(self._last_arrival) > self._prune_at:
            self._last_arrival = {
                m: t for m, t in self._last_arrival.items() if now - t < BUSY_WITHIN
            }
            self._prune_at = max(4096, 2 * len(self._last_arrival))
        return previous is not None and now - previous < BUSY_WITHIN

    def _dispatch(self, client: Client, market_id: str, lane: _MarketLane) -> None:
        """With nothing in flight to a busy market, orders wait `gather`
        (ORDER_GROUP_GATHER_MS) for the ones arriving with them: the clients one batch answered
        send their next orders at about the same moment. A quiet market's order goes at once
        (with those that arrived in the same turn of the event loop). Behind an update in
        flight, the next group lingers for half the last round trip, gathering what arrives
        meanwhile: it still reaches the workflow before the batch in progress ends (an update
        arriving during a batch waits for the next one anyway)."""
        if lane.waiting and lane.in_flight < self._in_flight_per_market:
            self._linger(client, market_id, lane)
        if (
            not lane.waiting
            and lane.in_flight == 0
            and lane.lingering is None
            and self._lanes.get(market_id) is lane
        ):
            del self._lanes[market_id]

    def _linger(self, client: Client, market_id: str, lane: _MarketLane) -> None:
        loop = asyncio.get_running_loop()
        if not lane.busy:
            wait = 0.0
        elif lane.in_flight == 0:
            wait = self._gather
        else:
            wait = max(self._gather, lane.round_trip / 2)
        until = loop.time() + wait
        if lane.lingering is not None:
            if lane.linger_until <= until:
                return
            lane.lingering.cancel()  # the update in flight came back: go sooner
        lane.linger_until = until
        lane.lingering = loop.call_later(wait, self._linger_over, client, market_id, lane)

    def _linger_over(self, client: Client, market_id: str, lane: _MarketLane) -> None:
        lane.lingering = None
        if lane.waiting and lane.in_flight < self._in_flight_per_market:
            self._send_waiting(client, market_id, lane)
        self._dispatch(client, market_id, lane)

    def _send_waiting(self, client: Client, market_id: str, lane: _MarketLane) -> None:
        group, lane.waiting = lane.waiting[:MAX_GROUP], lane.waiting[MAX_GROUP:]
        lane.in_flight += 1
        sender = asyncio.create_task(self._send(client, market_id, lane, group))
        self._senders.add(sender)
        sender.add_done_callback(self._senders.discard)

    async def _send(
        self, client: Client, market_id: str, lane: _MarketLane, group: list[_Waiting]
    ) -> None:
        started = time.monotonic()
        try:
            if len(group) == 1:
                await _send_alone(client, market_id, group[0])
            else:
                await _send_group(client, market_id, group)
        except BaseException as exc:  # never leave a caller waiting
            log.exception("orders for market %s failed", market_id)
            for waiting in group:
                _settle_error(waiting, ApiError("internal_error", "the order could not be sent"))
            if not isinstance(exc, Exception):
                raise
        finally:
            lane.round_trip = time.monotonic() - started
            lane.in_flight -= 1
            self._dispatch(client, market_id, lane)


async def _send_alone(client: Client, market_id: str, waiting: _Waiting) -> None:
    try:
        order = await update_market(
            client,
            market_id,
            "place_order",
            waiting.grouped.order,
            OrderView,
            update_id=waiting.grouped.request_id,
        )
    except ApiError as exc:
        _settle_error(waiting, exc)
    else:
        if not waiting.answer.done():
            waiting.answer.set_result(order)


async def _send_group(client: Client, market_id: str, group: list[_Waiting]) -> None:
    request = PlaceOrdersRequest(orders=[waiting.grouped for waiting in group])
    try:
        answered = await update_market(
            client,
            market_id,
            "place_orders",
            request,
            PlaceOrdersResult,
            update_id=f"orders-{uuid.uuid4().hex}",
        )
    except ApiError as exc:
        if exc.code not in _SEND_ALONE_ON:
            for waiting in group:
                _settle_error(waiting, exc)
            return
        await asyncio.gather(*(_send_alone(client, market_id, waiting) for waiting in group))
        return
    for waiting, result in zip(group, answered.results, strict=True):
        if waiting.answer.done():
            continue
        if result.error_code:
            code, message = result.error_code, result.error_message or result.error_code
            waiting.answer.set_exception(api_error_for_code(code, message))
        else:
            waiting.answer.set_result(result.orders[0])


def _settle_error(waiting: _Waiting, error: ApiError) -> None:
    if not waiting.answer.done():
        # Each caller raises its own instance: one exception raised in many tasks would
        # collect every task's traceback.
        waiting.answer.set_exception(
            ApiError(error.code, error.message, details=error.details, headers=error.headers)
        )
