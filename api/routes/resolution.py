"""Resolution: resolve, confirm and dispute a market's outcome; events and their resolution.

Writes go to the market's workflow (the Update `resolve`, `confirm` or `dispute`); the same
Update is what `oddsmith admin resolve` and `temporal workflow update execute` call.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import AdminUser, CurrentUser, TemporalClient
from api.errors import ApiError
from api.market_calls import update_market
from api.routes.pagination import path_id
from core.db import connection, transaction
from models.money import parse_money
from models.resolution import (
    ConfirmRequest,
    CreateEventRequest,
    DisputeBody,
    DisputeRequest,
    DisputeView,
    EventView,
    ResolutionInputError,
    ResolutionView,
    ResolveEventRequest,
    ResolveRequest,
)
from models.trading import MarketView
from services.trading.events import (
    claim_event_resolution,
    event_markets,
    event_view,
    insert_event,
    mark_event_resolved,
)
from services.trading.markets import market_view
from services.trading.resolution import insert_dispute, is_holder

router = APIRouter(tags=["resolution"])

FINAL = ("resolved", "settled")
IN_DISPUTE_WINDOW = ("resolving", "disputed")


async def _market(market_id: str) -> MarketView:
    mid = path_id(market_id, "market")
    async with connection() as conn:
        view = await market_view(conn, mid)
    if view is None:
        raise ApiError("not_found", f"no market {market_id}")
    return view


def _tick(market: MarketView) -> int:
    return parse_money(market.tick_size)


@router.post("/v1/markets/{market_id}/resolve", response_model=MarketView)
async def resolve_market(
    market_id: str, body: ResolveRequest, admin: AdminUser, temporal: TemporalClient
) -> MarketView:
    """Propose an outcome (closing an open market first), or, while disputed, confirm it
    (the same outcome) or amend it (another outcome, restarting the dispute window)."""
    market = await _market(market_id)
    try:
        body.value(_tick(market))
    except ResolutionInputError as exc:
        raise ApiError("invalid_request", str(exc)) from exc
    if market.status in FINAL:
        raise ApiError("conflict", f"the market is already {market.status} ({market.outcome})")
    await update_market(temporal, market.id, "resolve", body, ResolutionView)
    return await _market(market.id)


@router.post("/v1/markets/{market_id}/confirm", response_model=MarketView)
async def confirm_market_outcome(
    market_id: str, admin: AdminUser, temporal: TemporalClient
) -> MarketView:
    """Confirm a disputed outcome as proposed: it becomes final and payouts start."""
    market = await _market(market_id)
    await update_market(temporal, market.id, "confirm", ConfirmRequest(), ResolutionView)
    return await _market(market.id)


@router.post("/v1/markets/{market_id}/disputes", status_code=201, response_model=DisputeView)
async def dispute_market_outcome(
    market_id: str, body: DisputeBody, user: CurrentUser, temporal: TemporalClient
) -> DisputeView:
    """A holder disputes the proposed outcome during the dispute window."""
    market = await _market(market_id)
    if market.status not in IN_DISPUTE_WINDOW:
        raise ApiError("conflict", f"the market is {market.status}: there is no outcome to dispute")
    async with connection() as conn:
        holder = await is_holder(conn, int(market.id), user.id)
    if not holder:
        raise ApiError("forbidden", "only a holder of this market can dispute its outcome")
    view = await update_market(
        temporal,
        market.id,
        "dispute",
        DisputeRequest(user_id=user.id, reason=body.reason),
        ResolutionView,
    )
    async with transaction() as conn:
        row = await insert_dispute(
            conn, int(market.id), user.id, body.reason, view.settlement_value or 0
        )
    return DisputeView(
        id=str(row.id),
        market_id=str(row.market_id),
        user_id=str(row.user_id),
        reason=row.reason,
        created_at=row.created_at,
    )


# ---------------------------------------------------------------- events


async def _event(event_id: int) -> EventView:
    async with connection() as conn:
        view = await event_view(conn, event_id)
    if view is None:
        raise ApiError("not_found", f"no event {event_id}")
    return view


@router.post("/v1/events", status_code=201, response_model=EventView)
async def create_event(body: CreateEventRequest, admin: AdminUser) -> EventView:
    async with transaction() as conn:
        event_id = await insert_event(conn, body)
    return await _event(event_id)


@router.get("/v1/events/{event_id}", response_model=EventView)
async def get_event(event_id: str) -> EventView:
    return await _event(path_id(event_id, "event"))


@router.post("/v1/events/{event_id}/resolve", response_model=EventView)
async def resolve_event(
    event_id: str, body: ResolveEventRequest, admin: AdminUser, temporal: TemporalClient
) -> EventView:
    """The winning market resolves YES and every other market of the event NO, each through
    its own workflow. Repeating the same request finishes a resolution that was interrupted."""
    eid = path_id(event_id, "event")
    event = await _event(eid)
    if body.winning_market_id not in event.market_ids:
        raise ApiError(
            "invalid_request", f"market {body.winning_market_id} is not part of event {eid}"
        )
    winner = int(body.winning_market_id)
    async with connection() as conn:
        markets = await event_markets(conn, eid)
    expected = {int(m.id): "yes" if int(m.id) == winner else "no" for m in markets}
    unresolvable = [
        str(m.id)
        for m in markets
        if m.status in (*IN_DISPUTE_WINDOW, *FINAL) and m.outcome != expected[int(m.id)]
    ]
    if event.status == "resolved" or unresolvable:
        raise ApiError(
            "conflict",
            "the event is already resolved"
            if event.status == "resolved"
            else f"markets {', '.join(unresolvable)} already have another outcome",
        )
    async with transaction() as conn:
        if not await claim_event_resolution(conn, eid, winner):
            raise ApiError("conflict", "the event is being resolved with another winner")
    for m in markets:
        if m.status in (*IN_DISPUTE_WINDOW, *FINAL):
            continue  # resolved by an earlier, interrupted attempt
        await update_market(
            temporal,
            str(m.id),
            "resolve",
            ResolveRequest(outcome=expected[int(m.id)]),
            ResolutionView,
            update_id=f"event-{eid}-resolve-{m.id}",
        )
    async with transaction() as conn:
        await mark_event_resolved(conn, eid)
    return await _event(eid)
