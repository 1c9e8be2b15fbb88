"""Bad input raises a typed EngineError and leaves the engine exactly as it was."""

from __future__ import annotations

from typing import Any

import pytest

from engine import (
    Action,
    EngineError,
    MarketEngine,
    MarketParams,
    OrderRequest,
    OrderType,
    Side,
    TimeInForce,
)

from .test_order_types import fingerprint


def engine_with_book() -> MarketEngine:
    eng = MarketEngine("m", MarketParams())
    eng.set_cash("alice", 10**9)
    eng.set_cash("bob", 10**9)
    eng.place(OrderRequest("r1", "alice", Action.BUY, Side.YES, 5, 400_000), 0)
    eng.place(OrderRequest("r2", "bob", Action.SELL, Side.YES, 5, 600_000), 0)
    return eng


def req(**kw: Any) -> OrderRequest:
    base: dict[str, Any] = dict(
        order_id="new", user_id="bob", action=Action.BUY, side=Side.YES, count=3, price=500_000
    )
    base.update(kw)
    return OrderRequest(**base)


BAD_REQUESTS = {
    "zero count": req(count=0),
    "negative count": req(count=-1),
    "bool count": req(count=True),
    "price off tick": req(price=505_000),
    "price zero": req(price=0),
    "price one dollar": req(price=1_000_000),
    "price negative": req(price=-10_000),
    "price above one": req(price=1_010_000),
    "limit without price": req(price=None),
    "gtd without expiry": req(time_in_force=TimeInForce.GTD),
    "expiry without gtd": req(expires_at=10),
    "post_only ioc": req(time_in_force=TimeInForce.IOC, post_only=True),
    "market gtd": req(type=OrderType.MARKET, time_in_force=TimeInForce.GTD, expires_at=10),
    "max_cost on sell": req(action=Action.SELL, max_cost=100, time_in_force=TimeInForce.IOC),
    "max_cost on gtc": req(max_cost=100),
    "negative max_cost": req(type=OrderType.MARKET, price=None, max_cost=-1),
    "empty user": req(user_id=""),
    "amm user": req(user_id="amm"),
    "empty order id": req(order_id=""),
    "bad action": req(action="hold"),
    "bad side": req(side="maybe"),
    "float price": req(price=0.5),
}


@pytest.mark.parametrize("name", sorted(BAD_REQUESTS))
def test_bad_request_raises_invalid_request_and_changes_nothing(name: str) -> None:
    eng = engine_with_book()
    before = fingerprint(eng)
    with pytest.raises(EngineError) as e:
        eng.place(BAD_REQUESTS[name], 0)
    assert e.value.code == "invalid_request"
    assert fingerprint(eng) == before


def test_duplicate_resting_order_id_is_refused() -> None:
    eng = engine_with_book()
    before = fingerprint(eng)
    with pytest.raises(EngineError) as e:
        eng.place(req(order_id="r1", price=300_000), 0)
    assert e.value.code == "duplicate_order"
    assert fingerprint(eng) == before


def test_market_order_without_price_is_accepted() -> None:
    eng = engine_with_book()
    r = eng.place(req(type=OrderType.MARKET, price=None, user_id="alice"), 0)
    assert r.accepted and r.order.filled_count == 3


def test_tenth_of_a_cent_tick() -> None:
    eng = MarketEngine("m", MarketParams(tick=1_000))
    eng.set_cash("alice", 10**9)
    assert eng.place(req(user_id="alice", price=505_000), 0).accepted
    with pytest.raises(EngineError):
        eng.place(req(user_id="alice", order_id="x", price=505_500), 0)


def test_bad_market_params_refused() -> None:
    with pytest.raises(EngineError):
        MarketEngine("m", MarketParams(tick=3_000))
    with pytest.raises(EngineError):
        MarketEngine("m", MarketParams(amm_liquidity=0))


def test_negative_cash_refused() -> None:
    eng = MarketEngine("m", MarketParams())
    with pytest.raises(EngineError):
        eng.set_cash("alice", -1)
