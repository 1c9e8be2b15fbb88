"""Rebuilding an engine from persisted state gives one that behaves identically."""

from __future__ import annotations

import random

from engine import (
    Action,
    MarketEngine,
    MarketParams,
    OrderRequest,
    Side,
    TimeInForce,
)

USERS = [f"u{i}" for i in range(5)]


def random_request(rng: random.Random, n: int) -> OrderRequest:
    gtd = rng.random() < 0.2
    return OrderRequest(
        f"o{n}",
        rng.choice(USERS),
        rng.choice(list(Action)),
        rng.choice(list(Side)),
        rng.randint(1, 15),
        rng.randint(35, 65) * 10_000,
        time_in_force=TimeInForce.GTD if gtd else TimeInForce.GTC,
        expires_at=rng.randint(1, 50) if gtd else None,
    )


def rebuild(old: MarketEngine, params: MarketParams) -> MarketEngine:
    new = MarketEngine(old.market_id, params)
    for uid in old.users():
        available, _, position, _ = old.user(uid)
        new.set_cash(uid, available)
        new.restore_position(uid, position)
    for state in reversed(old.resting_orders()):  # any order: priority comes from seq
        new.restore_order(state)
    new.restore_stats(old.last_price, old.volume, old.fees_collected, old.seq)
    return new


def test_rebuilt_engine_matches_the_original() -> None:
    from fractions import Fraction

    params = MarketParams(maker_fee_rate=Fraction(1, 100))
    rng = random.Random(99)
    eng = MarketEngine("m", params)
    for u in USERS:
        eng.set_cash(u, 200_000_000)
    for n in range(400):
        eng.place(random_request(rng, n), 0)
    copy = rebuild(eng, params)
    assert copy.resting_orders() == eng.resting_orders()
    assert copy.depth(100) == eng.depth(100)
    assert [copy.user(u) for u in USERS] == [eng.user(u) for u in USERS]
    assert (copy.escrow, copy.open_interest) == (eng.escrow, eng.open_interest)
    for n in range(400, 700):
        req = random_request(rng, n)
        assert copy.place(req, 10) == eng.place(req, 10)
    assert copy.expire(30) == eng.expire(30)
    assert copy.cancel_everything() == eng.cancel_everything()
