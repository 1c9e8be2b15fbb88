"""An order's fees always equal the fee formula applied to its fee bases so far.

Kalshi's rule charges each new fill the increase of ceil_to_cent(rate x basis), so the running
total is exactly ceil_to_cent(rate x basis): checked on every order state the engine returns
over long seeded streams, with and without a maker fee.
"""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

from engine import (
    Action,
    EngineError,
    MarketEngine,
    MarketParams,
    OrderRequest,
    OrderState,
    Side,
    TimeInForce,
    fee_for_basis,
)

from .helpers import USD

TAKER = (7, 100)


@pytest.mark.parametrize("maker", [(0, 1), (2, 100), (1, 3)])
def test_fees_paid_equal_the_formula_on_the_basis_so_far(maker: tuple[int, int]) -> None:
    eng = MarketEngine(
        "m", MarketParams(taker_fee_rate=Fraction(*TAKER), maker_fee_rate=Fraction(*maker))
    )
    users = [f"u{i}" for i in range(5)]
    for u in users:
        eng.set_cash(u, 10_000 * USD)
    rng = random.Random(20261127)

    def check(state: OrderState) -> None:
        assert state.taker_fees == fee_for_basis(*TAKER, state.taker_fee_basis), state
        assert state.maker_fees == fee_for_basis(*maker, state.maker_fee_basis), state

    taker_fees_by_order: dict[str, int] = {}
    for n in range(4000):
        if n > 10 and rng.random() < 0.05:
            try:
                check(eng.cancel(f"o{rng.randrange(n)}", None).order)
            except EngineError:
                pass
            continue
        req = OrderRequest(
            f"o{n}",
            rng.choice(users),
            rng.choice(list(Action)),
            rng.choice(list(Side)),
            rng.randint(1, 60),
            10_000 * rng.randint(35, 65),
            time_in_force=rng.choice([TimeInForce.GTC] * 4 + [TimeInForce.IOC]),
        )
        r = eng.place(req, 0)
        for state in (r.order, *r.touched):
            check(state)
        for f in r.fills:
            taker_fees_by_order[f.taker_order_id] = (
                taker_fees_by_order.get(f.taker_order_id, 0) + f.taker_fee
            )
        if r.fills:
            assert taker_fees_by_order[req.order_id] == r.order.taker_fees
    assert taker_fees_by_order  # the stream did take
