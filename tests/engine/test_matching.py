"""Worked examples of every match kind, hold and fee, checked by hand."""

from __future__ import annotations

from engine import BookSide, FillKind, OrderStatus, PostingKind, Side

from .helpers import USD, Market, usd


def funded(*users: str, amount: int = 100 * USD, **kw: object) -> Market:
    m = Market(None, **kw)
    for u in users:
        m.fund(u, amount)
    return m


def test_mint_when_yes_and_no_bids_cross() -> None:
    m = funded("alice", "bob")
    rest = m.order("alice", "buy", "yes", 10, "0.60")
    assert rest.order.status is OrderStatus.RESTING
    assert rest.order.held_cash == usd("6.00")  # maker fee rate 0: price only
    r = m.order("bob", "buy", "no", 10, "0.40")
    assert r.order.status is OrderStatus.FILLED
    [f] = r.fills
    assert (f.kind, f.count, f.yes_price) == (FillKind.MINT, 10, usd("0.60"))
    assert (f.taker_side, f.taker_price, f.taker_opened) == (Side.NO, usd("0.40"), 10)
    assert (f.maker_side, f.maker_price, f.maker_opened) == (Side.YES, usd("0.60"), 10)
    # fee = ceil_to_cent(0.07 * 10 * 0.6 * 0.4 = 0.168) = 0.17
    assert f.taker_fee == usd("0.17") and f.maker_fee == 0
    assert r.escrow_delta == usd("10") and m.eng.escrow == usd("10")
    assert m.eng.open_interest == 10
    assert r.position_deltas == {"alice": 10, "bob": -10}
    assert m.cash("alice") == usd("94") and m.reserved("alice") == 0
    assert m.cash("bob") == usd("95.83") and m.reserved("bob") == 0
    assert r.fee_delta == usd("0.17")
    assert r.order.avg_fill_price == usd("0.40")  # in NO terms
    assert r.touched[0].status is OrderStatus.FILLED and r.touched[0].held_cash == 0
    assert (r.best_bid, r.best_ask, r.last_price) == (None, None, usd("0.60"))


def test_transfer_when_holder_sells_yes_to_new_buyer() -> None:
    m = funded("alice", "bob", "carol")
    m.order("alice", "buy", "yes", 10, "0.60")
    m.order("bob", "buy", "no", 10, "0.40")
    ask = m.order("alice", "sell", "yes", 4, "0.65")
    assert ask.order.held_contracts == 4 and ask.order.held_cash == 0
    assert m.eng.user("alice")[3] == 4
    r = m.order("carol", "buy", "yes", 4, "0.70")
    [f] = r.fills
    assert (f.kind, f.count, f.yes_price) == (FillKind.TRANSFER, 4, usd("0.65"))
    assert (f.maker_closed, f.taker_opened) == (4, 4)
    # carol pays 2.60 + ceil_to_cent(0.07*4*0.65*0.35 = 0.0637) = 0.07
    assert m.cash("carol") == usd("100") - usd("2.60") - usd("0.07")
    assert m.cash("alice") == usd("94") + usd("2.60")
    assert m.eng.escrow == usd("10") and r.escrow_delta == 0
    assert m.position("alice") == 6 and m.position("carol") == 4
    assert r.held_contract_deltas == {"alice": -4}


def test_merge_when_yes_and_no_holders_both_sell() -> None:
    m = funded("alice", "bob")
    m.order("alice", "buy", "yes", 10, "0.60")
    m.order("bob", "buy", "no", 10, "0.40")
    m.order("alice", "sell", "yes", 10, "0.55")
    r = m.order("bob", "sell", "no", 10, "0.45")  # a bid at YES 0.55, closing NO
    [f] = r.fills
    assert (f.kind, f.count, f.yes_price) == (FillKind.MERGE, 10, usd("0.55"))
    assert (f.taker_side, f.taker_price, f.taker_closed) == (Side.NO, usd("0.45"), 10)
    assert r.escrow_delta == -usd("10") and m.eng.escrow == 0 and m.eng.open_interest == 0
    # bob: 95.83 + 4.50 - ceil_to_cent(0.07*10*0.55*0.45 = 0.17325) = 0.18
    assert m.cash("bob") == usd("95.83") + usd("4.50") - usd("0.18")
    assert m.cash("alice") == usd("94") + usd("5.50")
    assert m.position("alice") == 0 and m.position("bob") == 0


def test_one_match_splits_into_close_then_open_segments() -> None:
    m = funded("alice", "bob", "carol")
    m.order("alice", "buy", "yes", 3, "0.50")
    m.order("bob", "buy", "no", 3, "0.50")  # bob holds 3 NO
    m.order("carol", "sell", "yes", 5, "0.40")  # carol opens NO
    r = m.order("bob", "buy", "yes", 5, "0.40")
    kinds = [(f.kind, f.count, f.taker_closed, f.taker_opened) for f in r.fills]
    assert kinds == [(FillKind.TRANSFER, 3, 3, 0), (FillKind.MINT, 2, 0, 2)]
    assert [f.trade_id for f in r.fills] == [f"{r.order.order_id}:1", f"{r.order.order_id}:2"]
    assert r.fills[0].taker_side is Side.NO and r.fills[0].taker_price == usd("0.60")
    assert r.fills[1].taker_side is Side.YES and r.fills[1].taker_price == usd("0.40")
    # fees charge the increase: 0.07*3*0.24=0.0504 -> 0.06, then 0.07*5*0.24=0.084 -> 0.09
    assert [f.taker_fee for f in r.fills] == [usd("0.06"), usd("0.03")]
    assert r.order.fees_paid == usd("0.09")
    assert m.eng.escrow == 5 * USD and m.eng.open_interest == 5
    assert (m.position("alice"), m.position("bob"), m.position("carol")) == (3, 2, -5)


def test_fee_is_exact_for_100_at_50_cents() -> None:
    m = funded("alice", "bob")
    m.order("alice", "sell", "yes", 100, "0.50")
    r = m.order("bob", "buy", "yes", 100, "0.50")
    assert r.order.fees_paid == usd("1.75")


def test_many_small_fills_pay_no_more_than_one_big_fill() -> None:
    m = funded("alice", "bob")
    for _ in range(100):
        m.order("alice", "sell", "yes", 1, "0.50")
    r = m.order("bob", "buy", "yes", 100, "0.50")
    assert len(r.fills) == 100
    assert sum(f.taker_fee for f in r.fills) == usd("1.75") == r.order.fees_paid


def test_maker_fee_charged_when_maker_rate_set() -> None:
    from fractions import Fraction

    m = funded("alice", "bob", maker_fee_rate=Fraction(1, 100))
    rest = m.order("alice", "buy", "yes", 100, "0.50")
    # maker fee hold: ceil_to_cent(0.01 * 100 * 0.25) = 0.25
    assert rest.order.held_cash == usd("50.25")
    r = m.order("bob", "sell", "yes", 100, "0.50")
    assert r.fills[0].maker_fee == usd("0.25") and r.fills[0].taker_fee == usd("1.75")
    assert m.cash("alice") == usd("100") - usd("50.25")
    assert m.eng.fees_collected == usd("2.00")


def test_better_price_releases_the_difference() -> None:
    m = funded("alice", "bob")
    m.order("alice", "sell", "yes", 10, "0.55")
    r = m.order("bob", "buy", "yes", 10, "0.60")
    # budget 6.00 + worst fee ceil(0.07*10*0.25)=0.18; paid 5.50 + ceil(0.07*10*.2475)=0.18;
    # a taker pays from available cash within that budget, so nothing stays held
    assert [p.kind for p in r.postings] == [PostingKind.MINT, PostingKind.MINT, PostingKind.FEE]
    assert r.postings[0].amount == usd("5.50")
    assert m.cash("bob") == usd("100") - usd("5.50") - usd("0.18")
    assert m.reserved("bob") == 0


def test_partial_fill_rests_remainder_with_its_hold() -> None:
    m = funded("alice", "bob")
    m.order("alice", "sell", "yes", 4, "0.55")
    r = m.order("bob", "buy", "yes", 10, "0.60")
    assert (r.order.filled_count, r.order.remaining_count) == (4, 6)
    assert r.order.status is OrderStatus.RESTING
    assert r.order.held_cash == 6 * usd("0.60")  # maker fee 0: price part only
    assert m.reserved("bob") == usd("3.60")
    assert m.eng.top_of_book() == (usd("0.60"), None)
    assert m.eng.depth(5) == ([(usd("0.60"), 6)], [])


def test_maker_partial_fill_keeps_priority_and_hold() -> None:
    m = funded("alice", "bob", "carol")
    first = m.order("alice", "sell", "yes", 10, "0.55")
    m.order("carol", "sell", "yes", 10, "0.55")
    r = m.order("bob", "buy", "yes", 4, "0.55")
    assert r.fills[0].maker_order_id == first.order.order_id
    [maker] = r.touched
    assert maker.remaining_count == 6 and maker.held_cash == 6 * usd("0.45")
    assert m.eng.depth(1)[1] == [(usd("0.55"), 16)]


def test_price_time_priority_across_levels() -> None:
    m = funded("a", "b", "c", "d")
    m.order("a", "sell", "yes", 5, "0.57", order_id="a57")
    m.order("b", "sell", "yes", 5, "0.55", order_id="b55")
    m.order("c", "sell", "yes", 5, "0.55", order_id="c55")
    r = m.order("d", "buy", "yes", 12, "0.57")
    assert [(f.maker_order_id, f.count, f.yes_price) for f in r.fills] == [
        ("b55", 5, usd("0.55")),
        ("c55", 5, usd("0.55")),
        ("a57", 2, usd("0.57")),
    ]


def test_no_side_prices_map_onto_the_yes_book() -> None:
    m = funded("alice")
    r = m.order("alice", "buy", "no", 3, "0.30")
    assert r.order.book_side is BookSide.ASK and r.order.yes_price == usd("0.70")
    assert r.order.held_cash == 3 * usd("0.30")
    r = m.order("alice", "sell", "no", 2, "0.75")
    assert r.order.book_side is BookSide.BID and r.order.yes_price == usd("0.25")
    assert m.eng.top_of_book() == (usd("0.25"), usd("0.70"))
