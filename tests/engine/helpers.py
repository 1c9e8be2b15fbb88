"""Shared helpers for engine tests: building engines and orders, and replaying postings."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from fractions import Fraction

from engine import (
    AMM_USER_ID,
    ESCROW,
    FEES,
    MARKET_MAKER,
    AccountKind,
    AccountRef,
    Action,
    CancelResult,
    MarketEngine,
    MarketParams,
    OrderRequest,
    OrderType,
    PlaceResult,
    Posting,
    SelfTradePrevention,
    Side,
    TimeInForce,
)

USD = 1_000_000
CENT = 10_000


def usd(dollars: str) -> int:
    """'0.60' -> 600_000 micro-dollars, exactly."""
    value = Fraction(dollars) * USD
    assert value.denominator == 1
    return int(value)


class Ledger:
    """Replays postings into balances, to check they match the engine and sum to zero."""

    def __init__(self) -> None:
        self.balances: dict[AccountRef, int] = defaultdict(int)
        self.external = 0  # money that came in through set_cash

    def fund(self, user_id: str, amount: int) -> None:
        self.balances[AccountRef(AccountKind.AVAILABLE, user_id)] += amount
        self.external += amount

    def apply(self, postings: Iterable[Posting]) -> None:
        for p in postings:
            assert p.amount > 0, p
            assert p.debit != p.credit, p
            self.balances[p.debit] -= p.amount
            self.balances[p.credit] += p.amount

    def apply_result(self, result: PlaceResult | CancelResult | list[CancelResult]) -> None:
        if isinstance(result, list):
            for r in result:
                self.apply(r.postings)
        else:
            self.apply(result.postings)

    def total(self) -> int:
        return sum(self.balances.values())

    def check(self, eng: MarketEngine) -> None:
        """Every balance the postings imply equals what the engine tracks."""
        assert self.total() == self.external
        for uid in eng.users():
            available, reserved, _, _ = eng.user(uid)
            if uid == AMM_USER_ID:
                continue
            assert self.balances[AccountRef(AccountKind.AVAILABLE, uid)] == available, uid
            assert self.balances[AccountRef(AccountKind.RESERVED, uid)] == reserved, uid
        assert self.balances[ESCROW] == eng.escrow
        assert self.balances[FEES] == eng.fees_collected
        assert self.balances[MARKET_MAKER] == eng.amm_cash


class Market:
    """An engine plus a ledger replaying everything it returns."""

    def __init__(self, params: MarketParams | None = None, **kw: object) -> None:
        self.eng = MarketEngine("m1", params if params is not None else MarketParams(**kw))  # type: ignore[arg-type]
        self.ledger = Ledger()
        self.n = 0

    def fund(self, user_id: str, amount: int) -> None:
        available = self.eng.user(user_id)[0]
        self.eng.set_cash(user_id, available + amount)
        self.ledger.fund(user_id, amount)

    def order(
        self,
        user: str,
        action: str,
        side: str,
        count: int,
        price: str | int | None,
        *,
        order_id: str | None = None,
        now: int = 0,
        **kw: object,
    ) -> PlaceResult:
        self.n += 1
        p = usd(price) if isinstance(price, str) else price
        req = OrderRequest(
            order_id or f"o{self.n}",
            user,
            Action(action),
            Side(side),
            count,
            p,
            **kw,  # type: ignore[arg-type]
        )
        result = self.eng.place(req, now)
        self.ledger.apply(result.postings)
        self.ledger.check(self.eng)
        return result

    def cancel(self, order_id: str, user_id: str | None) -> CancelResult:
        r = self.eng.cancel(order_id, user_id)
        self.ledger.apply(r.postings)
        self.ledger.check(self.eng)
        return r

    def apply(self, results: list[CancelResult]) -> list[CancelResult]:
        self.ledger.apply_result(results)
        self.ledger.check(self.eng)
        return results

    def cash(self, user: str) -> int:
        return self.eng.user(user)[0]

    def reserved(self, user: str) -> int:
        return self.eng.user(user)[1]

    def position(self, user: str) -> int:
        return self.eng.user(user)[2]


__all__ = [
    "CENT",
    "USD",
    "Ledger",
    "Market",
    "OrderType",
    "SelfTradePrevention",
    "TimeInForce",
    "usd",
]
