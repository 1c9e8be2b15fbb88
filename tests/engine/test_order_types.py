"""Time in force, flags, self-trade prevention, cancels and rejections."""

from __future__ import annotations

import pytest

from engine import (
    CancelReason,
    EngineError,
    MarketEngine,
    OrderStatus,
    OrderType,
    SelfTradePrevention,
    TimeInForce,
)

from .helpers import USD, Market, usd


def funded(*users: str, amount: int = 100 * USD, **kw: object) -> Market:
    m = Market(None, **kw)
    for u in users:
        m.fund(u, amount)
    return m


def fingerprint(eng: MarketEngine) -> object:
    """Everything observable about an engine, to prove a call changed nothing."""
    return (
        eng.resting_orders(),
        eng.depth(1000),
        sorted((u, eng.user(u)) for u in eng.users()),
        eng.escrow,
        eng.open_interest,
        eng.fees_collected,
        eng.volume,
        eng.last_price,
        eng.amm_cash,
    )


def test_stp_cancel_resting_cancels_own_order_and_continues() -> None:
    m = funded("alice", "bob")
    m.order("alice", "sell", "yes", 5, "0.50", order_id="own")
    m.order("bob", "sell", "yes", 5, "0.51", order_id="bobs")
    r = m.order("alice", "buy", "yes", 5, "0.55")
    assert [f.maker_order_id for f in r.fills] == ["bobs"]
    [filled, cancelled] = sorted(r.touched, key=lambda s: s.order_id)
    assert cancelled.order_id == "own" and cancelled.status is OrderStatus.CANCELLED
    assert cancelled.reason == CancelReason.SELF_TRADE and cancelled.held_cash == 0
    assert filled.status is OrderStatus.FILLED
    assert m.reserved("alice") == 0


def test_stp_cancel_taker_stops_the_incoming_order() -> None:
    m = funded("alice", "bob")
    m.order("bob", "sell", "yes", 2, "0.49", order_id="bobs")
    m.order("alice", "sell", "yes", 5, "0.50", order_id="own")
    r = m.order(
        "alice",
        "buy",
        "yes",
        10,
        "0.55",
        self_trade_prevention=SelfTradePrevention.CANCEL_TAKER,
    )
    assert [(f.maker_order_id, f.count) for f in r.fills] == [("bobs", 2)]
    assert r.order.status is OrderStatus.CANCELLED and r.order.reason == CancelReason.SELF_TRADE
    assert r.order.filled_count == 2 and r.order.remaining_count == 0
    assert m.eng.order("own").remaining_count == 5  # resting one untouched
    assert m.reserved("alice") == m.eng.order("own").held_cash


def test_post_only_rejected_with_would_take() -> None:
    m = funded("alice", "bob")
    m.order("alice", "sell", "yes", 5, "0.50")
    before = fingerprint(m.eng)
    r = m.order("bob", "buy", "yes", 5, "0.50", post_only=True)
    assert r.order.status is OrderStatus.REJECTED and r.error_code == "would_take"
    assert fingerprint(m.eng) == before
    ok = m.order("bob", "buy", "yes", 5, "0.49", post_only=True)
    assert ok.order.status is OrderStatus.RESTING


def test_reduce_only_is_capped_to_the_position() -> None:
    m = funded("alice", "bob", "carol")
    m.order("alice", "buy", "yes", 3, "0.50")
    m.order("bob", "sell", "yes", 3, "0.50")  # alice long 3 YES
    r = m.order("alice", "sell", "yes", 10, "0.60", reduce_only=True)
    assert r.order.count == 3 and r.order.held_contracts == 3 and r.order.held_cash == 0
    m.order("carol", "buy", "yes", 10, "0.60")
    assert m.position("alice") == 0


def test_reduce_only_without_position_rejected() -> None:
    m = funded("alice")
    before = fingerprint(m.eng)
    r = m.order("alice", "sell", "yes", 1, "0.60", reduce_only=True)
    assert r.error_code == "insufficient_position" and r.order.status is OrderStatus.REJECTED
    assert fingerprint(m.eng) == before


def test_insufficient_funds_rejected_and_nothing_changes() -> None:
    m = funded("alice", amount=usd("5.99"))
    before = fingerprint(m.eng)
    r = m.order("alice", "buy", "yes", 10, "0.60")
    assert r.error_code == "insufficient_funds" and not r.accepted
    assert fingerprint(m.eng) == before
    assert m.order("alice", "buy", "yes", 9, "0.60").accepted


def test_fok_that_cannot_fill_whole_changes_nothing() -> None:
    m = funded("alice", "bob")
    m.order("alice", "sell", "yes", 4, "0.50")
    before = fingerprint(m.eng)
    r = m.order("bob", "buy", "yes", 5, "0.50", time_in_force=TimeInForce.FOK)
    assert r.order.status is OrderStatus.CANCELLED and r.fills == [] and r.postings == []
    assert fingerprint(m.eng) == before
    r = m.order("bob", "buy", "yes", 4, "0.50", time_in_force=TimeInForce.FOK)
    assert r.order.status is OrderStatus.FILLED


def test_ioc_fills_what_it_can_and_cancels_the_rest() -> None:
    m = funded("alice", "bob")
    m.order("alice", "sell", "yes", 4, "0.50")
    r = m.order("bob", "buy", "yes", 10, "0.50", time_in_force=TimeInForce.IOC)
    assert r.order.status is OrderStatus.CANCELLED and r.order.filled_count == 4
    assert m.reserved("bob") == 0 and m.eng.top_of_book() == (None, None)


def test_gtd_expires_and_releases_hold() -> None:
    m = funded("alice")
    r = m.order(
        "alice", "buy", "yes", 10, "0.40", time_in_force=TimeInForce.GTD, expires_at=100, now=50
    )
    assert r.order.status is OrderStatus.RESTING and m.reserved("alice") == usd("4")
    assert m.apply(m.eng.expire(99)) == []
    [x] = m.apply(m.eng.expire(100))
    assert x.order.status is OrderStatus.EXPIRED and x.order.order_id == r.order.order_id
    assert m.reserved("alice") == 0 and m.cash("alice") == 100 * USD
    assert m.eng.top_of_book() == (None, None)


def test_gtd_already_expired_is_rejected() -> None:
    m = funded("alice")
    r = m.order(
        "alice", "buy", "yes", 1, "0.40", time_in_force=TimeInForce.GTD, expires_at=10, now=10
    )
    assert r.order.status is OrderStatus.REJECTED and r.error_code == "order_expired"


def test_market_order_walks_the_book_to_max_cost() -> None:
    m = funded("alice", "bob")
    m.order("alice", "sell", "yes", 5, "0.50")
    m.order("alice", "sell", "yes", 5, "0.60")
    r = m.order("bob", "buy", "yes", 10, None, type=OrderType.MARKET, max_cost=usd("4.00"))
    # 5 @ 0.50 = 2.50, then 2 @ 0.60 = 1.20 (a third would make 4.30 > 4.00)
    assert [(f.count, f.yes_price) for f in r.fills] == [(5, usd("0.50")), (2, usd("0.60"))]
    assert r.order.status is OrderStatus.CANCELLED and r.order.reason == CancelReason.MAX_COST
    assert m.reserved("bob") == 0


def test_market_order_without_price_is_ioc_at_worst_price() -> None:
    m = funded("alice", "bob")
    m.order("alice", "sell", "yes", 5, "0.97")
    r = m.order("bob", "buy", "yes", 8, None, type=OrderType.MARKET)
    assert r.order.filled_count == 5 and r.order.status is OrderStatus.CANCELLED
    assert m.eng.top_of_book() == (None, None)


def test_cancel_releases_hold_and_contracts() -> None:
    m = funded("alice", "bob")
    m.order("alice", "buy", "yes", 3, "0.50")
    m.order("bob", "sell", "yes", 3, "0.50")
    r = m.order("alice", "sell", "yes", 3, "0.70", order_id="close")
    assert m.eng.user("alice")[3] == 3
    c = m.cancel("close", "alice")
    assert c.order.status is OrderStatus.CANCELLED and c.held_contracts_released == 3
    assert m.eng.user("alice")[3] == 0 and r.order.held_cash == 0


def test_cancel_unknown_or_foreign_order_is_order_not_found() -> None:
    m = funded("alice", "bob")
    m.order("alice", "buy", "yes", 1, "0.50", order_id="mine")
    before = fingerprint(m.eng)
    for oid, user in (("nope", "alice"), ("mine", "bob")):
        with pytest.raises(EngineError) as e:
            m.eng.cancel(oid, user)
        assert e.value.code == "order_not_found"
    assert fingerprint(m.eng) == before


def test_cancel_all_and_cancel_everything() -> None:
    m = funded("alice", "bob")
    m.order("alice", "buy", "yes", 1, "0.40")
    m.order("alice", "sell", "yes", 1, "0.60")
    m.order("bob", "buy", "yes", 1, "0.30")
    assert len(m.apply(m.eng.cancel_all("alice"))) == 2
    assert m.eng.top_of_book() == (usd("0.30"), None)
    [c] = m.apply(m.eng.cancel_everything())
    assert c.order.reason == CancelReason.MARKET_CLOSED
    assert m.reserved("bob") == 0 and m.eng.resting_orders() == []


def test_sibling_order_takes_contracts_held_by_another_resting_order() -> None:
    m = funded("alice", "bob", "carol")
    m.order("alice", "buy", "no", 5, "0.50")
    m.order("bob", "buy", "yes", 5, "0.50")  # alice holds 5 NO
    first = m.order("alice", "sell", "no", 5, "0.45", order_id="first")  # bid 0.55, holds NO
    assert first.order.held_contracts == 5
    m.order("alice", "buy", "yes", 5, "0.40", order_id="second")  # bid 0.40 held in cash
    m.order("carol", "sell", "yes", 5, "0.55")  # fills 'first' from its contracts
    assert m.position("alice") == 0
    r = m.order("carol", "sell", "yes", 5, "0.40")  # 'second' now opens YES
    assert r.fills[0].maker_opened == 5 and m.position("alice") == 5
