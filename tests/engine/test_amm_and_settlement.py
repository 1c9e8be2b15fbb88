"""The LMSR market maker inside matching, and settlement maths."""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, Decimal, localcontext

import pytest

from engine import (
    AMM_USER_ID,
    Action,
    EngineError,
    FillKind,
    Lmsr,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    settle,
)
from engine.settlement import settle_fraction

from .helpers import USD, Market, usd

B = 100 * USD


def exact_cost(x: int, n: int, b: int = B) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 80
        bb = Decimal(b) / USD
        c = lambda q: Decimal(b) * ((Decimal(q) / bb).exp() + 1).ln()  # noqa: E731
        return c(x + n) - c(x)


def test_lmsr_cost_matches_closed_form_and_rounds_up_for_taker() -> None:
    lm = Lmsr(B)
    for x, n in ((0, 1), (0, 10), (37, 5), (-80, 12)):
        exact = exact_cost(x, n)
        assert abs(lm.cost(x, n) - exact) < Decimal("1e-30")
        assert lm.cost_up(x, n) == int(exact.to_integral_value(rounding=ROUND_CEILING))
    # first contract at even odds costs a little over half a dollar
    assert 500_000 < lm.cost_up(0, 1) < 502_500
    assert abs(lm.max_loss() - Decimal(B) * Decimal(2).ln()) < Decimal("1e-12")


def test_run_length_counts_contracts_under_a_price() -> None:
    lm = Lmsr(B)
    n = lm.run_length(0, 600_000, False, 10_000)
    assert lm.cost(n - 1, 1) <= 600_000 < lm.cost(n, 1)
    assert lm.run_length(0, 400_000, False, 100) == 0
    assert lm.run_length(0, 999_999, False, 7) == 7


def test_amm_sells_to_taker_when_book_is_empty() -> None:
    m = Market(amm_liquidity=B)
    m.fund("bob", 100 * USD)
    r = m.order("bob", "buy", "yes", 10, "0.60")
    assert r.order.status is OrderStatus.FILLED
    [f] = r.fills
    assert f.maker_user_id == AMM_USER_ID and f.maker_order_id is None
    assert f.kind is FillKind.MINT and f.count == 10
    assert f.yes_notional == int(exact_cost(0, 10).to_integral_value(rounding=ROUND_CEILING))
    assert m.position(AMM_USER_ID) == -10 and m.eng.escrow == 10 * USD
    assert m.eng.amm_cash == -(10 * USD - f.yes_notional)


def test_taker_fills_against_book_and_amm_whichever_is_cheaper() -> None:
    m = Market(amm_liquidity=B)
    m.fund("alice", 100 * USD)
    m.fund("bob", 100 * USD)
    m.order("alice", "sell", "yes", 5, "0.52", order_id="book")
    r = m.order("bob", "buy", "yes", 30, "0.56")
    sources = [(f.maker_user_id, f.count) for f in r.fills]
    assert sources[0][0] == AMM_USER_ID and ("alice", 5) in sources
    assert sources[-1][0] == AMM_USER_ID
    prices = [f.yes_notional / f.count for f in r.fills]
    assert prices == sorted(prices)  # never paid more for an earlier contract
    for f in r.fills:
        if f.maker_user_id == AMM_USER_ID:
            assert f.yes_notional <= f.count * usd("0.56")
    # stops at the limit: the next AMM contract would cost more than 0.56
    assert r.order.filled_count < 30 or Lmsr(B).cost(-m.position(AMM_USER_ID), 1) > 560_000


def test_amm_buys_back_and_merges() -> None:
    m = Market(amm_liquidity=B)
    m.fund("bob", 100 * USD)
    m.order("bob", "buy", "yes", 10, "0.60")
    r = m.order("bob", "sell", "yes", 10, "0.01")
    [f] = r.fills
    assert f.kind is FillKind.MERGE and m.eng.escrow == 0 and m.position(AMM_USER_ID) == 0
    # round trip: the AMM charged up and paid down, so it cannot have lost
    assert m.eng.amm_cash >= 0


def test_amm_loss_never_exceeds_b_ln2() -> None:
    m = Market(amm_liquidity=B)
    m.fund("whale", 10_000 * USD)
    r = m.order("whale", "buy", "yes", 5_000, None, type=OrderType.MARKET)
    assert r.order.filled_count > 0
    assert -m.eng.amm_cash <= B * math.log(2)
    assert m.eng.amm_cash >= -m.eng.amm_max_loss()


def test_post_only_would_take_from_amm() -> None:
    m = Market(amm_liquidity=B)
    m.fund("bob", 100 * USD)
    assert m.order("bob", "buy", "yes", 1, "0.60", post_only=True).error_code == "would_take"
    assert m.order("bob", "buy", "yes", 1, "0.40", post_only=True).accepted


def test_settle_yes_pays_yes_holders() -> None:
    s = settle(1_000_000, [("a", 3), ("b", -2), ("c", -1)])
    assert [(p.user_id, p.amount) for p in s.payouts] == [("a", 3 * USD), ("b", 0), ("c", 0)]
    assert s.escrow == 3 * USD and s.remainder == 0


def test_settle_void_pays_half_each() -> None:
    s = settle(500_000, [("a", 3), ("b", -3)])
    assert [p.amount for p in s.payouts] == [1_500_000, 1_500_000] and s.remainder == 0


def test_settle_fraction_rounds_down_and_remainder_goes_to_fees() -> None:
    s = settle_fraction(1, 3, [("a", 1), ("b", -1)])
    assert [p.amount for p in s.payouts] == [333_333, 666_666]
    assert s.remainder == 1 and s.total_paid + s.remainder == s.escrow


def test_settle_refuses_unbalanced_positions_and_bad_values() -> None:
    with pytest.raises(EngineError):
        settle(1_000_000, [("a", 2), ("b", -1)])
    with pytest.raises(EngineError):
        settle(1_000_001, [])


def test_fok_counts_amm_liquidity_within_the_limit() -> None:
    m = Market(amm_liquidity=B)
    m.fund("bob", 1_000 * USD)
    capacity = Lmsr(B).run_length(0, usd("0.55"), False, 10_000)
    too_many = m.order("bob", "buy", "yes", capacity + 1, "0.55", time_in_force=TimeInForce.FOK)
    assert too_many.order.status is OrderStatus.CANCELLED and too_many.fills == []
    assert m.position(AMM_USER_ID) == 0
    exact = m.order("bob", "buy", "yes", capacity, "0.55", time_in_force=TimeInForce.FOK)
    assert exact.order.status is OrderStatus.FILLED
    assert m.position(AMM_USER_ID) == -capacity


def test_market_order_max_cost_against_amm() -> None:
    m = Market(amm_liquidity=B)
    m.fund("bob", 100 * USD)
    r = m.order("bob", "buy", "yes", 100, None, type=OrderType.MARKET, max_cost=usd("10"))
    spent = r.order.filled_notional
    assert spent <= usd("10")
    # one more contract would have cost more than what was left of the budget
    assert Lmsr(B).cost_up(r.order.filled_count, 1) > usd("10") - spent or r.order.filled_count == 0
    assert r.order.filled_count > 15 and m.reserved("bob") == 0


def test_amm_position_restores_its_prices() -> None:
    from engine import MarketEngine, MarketParams, OrderRequest

    m = Market(amm_liquidity=B)
    m.fund("bob", 100 * USD)
    m.order("bob", "buy", "yes", 30, "0.70")
    copy = MarketEngine("m1", MarketParams(amm_liquidity=B))
    copy.restore_position("bob", m.position("bob"))
    copy.restore_position(AMM_USER_ID, m.position(AMM_USER_ID))
    copy.set_cash("bob", m.cash("bob"))
    copy.set_cash(AMM_USER_ID, m.eng.amm_cash)
    copy.restore_stats(m.eng.last_price, m.eng.volume, m.eng.fees_collected, m.eng.seq)
    req = OrderRequest("next", "bob", Action.BUY, Side.YES, 5, usd("0.80"))
    assert copy.place(req, 0) == m.eng.place(req, 0)
