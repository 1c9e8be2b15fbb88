"""Invariants over random order streams with several users, with and without the AMM."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import (
    AMM_USER_ID,
    Action,
    BookSide,
    EngineError,
    MarketEngine,
    MarketParams,
    OrderRequest,
    OrderStatus,
    OrderType,
    SelfTradePrevention,
    Side,
    TimeInForce,
)

from .helpers import USD, Ledger
from .test_order_types import fingerprint

USERS = ["u0", "u1", "u2", "u3"]


@dataclass
class Place:
    user: int
    action: Action
    side: Side
    count: int
    cents: int | None
    tif: TimeInForce
    post_only: bool
    reduce_only: bool
    stp: SelfTradePrevention
    max_cost: int | None


places = st.builds(
    Place,
    user=st.integers(0, len(USERS) - 1),
    action=st.sampled_from(list(Action)),
    side=st.sampled_from(list(Side)),
    count=st.integers(1, 25),
    cents=st.one_of(st.integers(30, 70), st.integers(1, 99), st.none()),
    tif=st.sampled_from(
        [TimeInForce.GTC] * 4 + [TimeInForce.IOC, TimeInForce.FOK, TimeInForce.GTD]
    ),
    post_only=st.sampled_from([False] * 4 + [True]),
    reduce_only=st.sampled_from([False] * 5 + [True]),
    stp=st.sampled_from(list(SelfTradePrevention)),
    max_cost=st.sampled_from([None, None, None, 3 * USD]),
)
ops = st.lists(
    st.one_of(
        places,
        places,
        places,
        st.tuples(st.just("cancel"), st.integers(0, 200)),
        st.tuples(st.just("cancel_all"), st.integers(0, len(USERS) - 1)),
        st.tuples(st.just("expire"), st.integers(0, 100)),
    ),
    min_size=1,
    max_size=60,
)


class Harness:
    def __init__(
        self, amm: int | None, tick: int = 10_000, maker_fee: Fraction = Fraction(0)
    ) -> None:
        params = MarketParams(tick=tick, amm_liquidity=amm, maker_fee_rate=maker_fee)
        self.eng = MarketEngine("m", params)
        self.ledger = Ledger()
        self.positions: dict[str, int] = {}
        self.seqs: dict[str, int] = {}
        self.n = 0
        self.now = 0
        self.kinds: set[str] = set()
        self.held: dict[str, int] = {}
        for u in USERS:
            self.eng.set_cash(u, 60 * USD)
            self.ledger.fund(u, 60 * USD)

    def request(self, p: Place) -> OrderRequest:
        self.n += 1
        price = None if p.cents is None else p.cents * 10_000
        otype = OrderType.MARKET if p.cents is None else OrderType.LIMIT
        return OrderRequest(
            f"o{self.n}",
            USERS[p.user],
            p.action,
            p.side,
            p.count,
            price,
            type=otype,
            time_in_force=p.tif,
            expires_at=self.now + 5 if p.tif is TimeInForce.GTD else None,
            post_only=p.post_only,
            reduce_only=p.reduce_only,
            max_cost=p.max_cost if p.action is Action.BUY and p.tif is TimeInForce.IOC else None,
            self_trade_prevention=p.stp,
        )

    def step(self, op: Any) -> None:
        eng = self.eng
        if isinstance(op, Place):
            req = self.request(op)
            before = fingerprint(eng)
            try:
                r = eng.place(req, self.now)
            except EngineError as e:
                assert e.code == "invalid_request"
                assert fingerprint(eng) == before
                return
            unfilled = r.order.status is OrderStatus.CANCELLED and not r.fills and not r.touched
            if not r.accepted or unfilled:
                assert r.postings == [] and r.fills == [] and fingerprint(eng) == before
            self.ledger.apply(r.postings)
            self.seqs[r.order.order_id] = r.order.seq
            self.check_fills(r)
            for u, d in r.held_contract_deltas.items():
                self.held[u] = self.held.get(u, 0) + d
        elif op[0] == "cancel":
            oid = f"o{op[1]}"
            try:
                c = eng.cancel(oid, None)
            except EngineError as e:
                assert e.code == "order_not_found"
                return
            assert c.order.status is OrderStatus.CANCELLED
            self.ledger.apply(c.postings)
            self.held[c.order.user_id] = (
                self.held.get(c.order.user_id, 0) - c.held_contracts_released
            )
        elif op[0] == "cancel_all":
            for c in eng.cancel_all(USERS[op[1]]):
                self.ledger.apply(c.postings)
                self.held[c.order.user_id] = (
                    self.held.get(c.order.user_id, 0) - c.held_contracts_released
                )
        else:
            self.now += op[1]
            for c in eng.expire(self.now):
                assert c.order.expires_at is not None and c.order.expires_at <= self.now
                self.ledger.apply(c.postings)
                self.held[c.order.user_id] = (
                    self.held.get(c.order.user_id, 0) - c.held_contracts_released
                )
        self.check()

    def check_fills(self, r: Any) -> None:
        deltas: dict[str, int] = {}
        last: tuple[int, int] | None = None
        for f in r.fills:
            bid_user = f.taker_user_id if f.taker_book_side is BookSide.BID else f.maker_user_id
            ask_user = f.maker_user_id if f.taker_book_side is BookSide.BID else f.taker_user_id
            assert bid_user != ask_user  # self-trade prevention
            self.kinds.add(f.kind)
            deltas[bid_user] = deltas.get(bid_user, 0) + f.count
            deltas[ask_user] = deltas.get(ask_user, 0) - f.count
            assert f.taker_opened + f.taker_closed == f.count == f.maker_opened + f.maker_closed
            assert 0 < f.yes_notional < f.count * USD
            limit = r.order.yes_price
            if f.taker_book_side is BookSide.BID:
                assert f.yes_notional <= f.count * limit
            else:
                assert f.yes_notional >= f.count * limit
            if f.maker_order_id is not None:
                # price-time priority among book fills: price never improves for the maker
                # side as we go, and at one price earlier orders fill first
                key = (
                    f.yes_price if f.taker_book_side is BookSide.BID else -f.yes_price,
                    self.seqs[f.maker_order_id],
                )
                if last is not None:
                    assert key >= last
                last = key
        for u, d in deltas.items():
            self.positions[u] = self.positions.get(u, 0) + d
        assert {u: d for u, d in deltas.items() if d} == r.position_deltas

    def check(self) -> None:
        eng = self.eng
        self.ledger.check(eng)
        bb, ba = eng.top_of_book()
        assert bb is None or ba is None or bb < ba, "book crossed"
        longs = shorts = 0
        resting = eng.resting_orders()
        for s in resting:
            self.seqs[s.order_id] = s.seq
            assert s.held_cash >= 0 and s.held_contracts >= 0 and s.remaining_count > 0
        for u in [*USERS, AMM_USER_ID]:
            available, reserved, pos, held = eng.user(u)
            assert pos == self.positions.get(u, 0)
            if u != AMM_USER_ID:
                assert available >= 0 and reserved >= 0
                mine = [s for s in resting if s.user_id == u]
                assert reserved == sum(s.held_cash for s in mine)
                assert held == sum(s.held_contracts for s in mine) <= abs(pos)
                assert held == self.held.get(u, 0)  # the reported deltas add up
                for s in mine:
                    if s.held_contracts:
                        assert (s.book_side is BookSide.BID) == (pos < 0)
            longs += max(pos, 0)
            shorts += max(-pos, 0)
        assert longs == shorts == eng.open_interest
        assert eng.escrow == USD * eng.open_interest
        assert eng.amm_cash >= -eng.amm_max_loss()


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(ops)
def test_invariants_hold_over_random_streams(stream: list[Any]) -> None:
    h = Harness(amm=None)
    for op in stream:
        h.step(op)


@SETTINGS
@given(ops)
def test_invariants_hold_with_amm(stream: list[Any]) -> None:
    h = Harness(amm=20 * USD)
    for op in stream:
        h.step(op)


@settings(max_examples=60, deadline=None)
@given(ops)
def test_invariants_hold_with_tenth_cent_tick(stream: list[Any]) -> None:
    h = Harness(amm=None, tick=1_000)
    for op in stream:
        h.step(op)


@settings(max_examples=80, deadline=None)
@given(ops)
def test_invariants_hold_with_maker_fees_and_amm(stream: list[Any]) -> None:
    h = Harness(amm=5 * USD, maker_fee=Fraction(2, 100))
    for op in stream:
        h.step(op)


def test_long_seeded_stream_exercises_every_fill_kind() -> None:
    import random

    rng = random.Random(1234)
    h = Harness(amm=None)
    for _ in range(3000):
        p = Place(
            rng.randrange(len(USERS)),
            rng.choice(list(Action)),
            rng.choice(list(Side)),
            rng.randint(1, 20),
            rng.randint(35, 65),
            rng.choice([TimeInForce.GTC] * 5 + [TimeInForce.IOC]),
            False,
            rng.random() < 0.1,
            rng.choice(list(SelfTradePrevention)),
            None,
        )
        h.step(p)
        if rng.random() < 0.1:
            h.step(("cancel", rng.randrange(h.n + 1)))
    for s in h.eng.resting_orders():
        assert s.status is OrderStatus.RESTING
    assert h.kinds == {"transfer", "mint", "merge"}
    assert h.eng.volume > 300
