"""LMSR automated market maker maths, deterministic via ``decimal`` at 60 digits.

State is ``x`` = YES contracts the maker has sold net of NO contracts sold (``x = -position`` of
the maker).  With liquidity ``b`` (micro-dollars; B = b / 10**6 contracts) the cost of buying
``n`` YES is ``b * ln((e^((x+n)/B) + 1) / (e^(x/B) + 1))``; buying NO is the same with
``-x``.  The worst-case loss of the maker is ``b * ln 2``.  Results are exact Decimals; callers
round in the platform's favour (charge up, pay down).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal

_CTX = Context(prec=60)
_ONE = Decimal(1)
_ZERO = Decimal(0)
MICRO = 1_000_000


def _softplus(a: Decimal) -> Decimal:
    """ln(1 + e^a), stable for large |a|."""
    ctx = _CTX
    if a > 0:
        return ctx.add(a, ctx.ln(ctx.add(_ONE, ctx.exp(-a))))
    return ctx.ln(ctx.add(_ONE, ctx.exp(a)))


class Lmsr:
    """Cost function of one binary LMSR market maker with liquidity ``b`` micro-dollars."""

    __slots__ = ("_B", "_bd", "_cache", "b")

    def __init__(self, b: int) -> None:
        if b <= 0:
            raise ValueError("LMSR liquidity must be positive")
        self.b = b
        self._bd = Decimal(b)
        self._B = _CTX.divide(Decimal(b), Decimal(MICRO))
        self._cache: dict[tuple[int, int], Decimal] = {}

    def max_loss(self) -> Decimal:
        """b ln 2 in micro-dollars."""
        return _CTX.multiply(self._bd, _CTX.ln(Decimal(2)))

    def _potential(self, x: int) -> Decimal:
        """b * softplus(x / B): C(x, 0) in micro-dollars."""
        key = (0, x)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        val = _CTX.multiply(self._bd, _softplus(_CTX.divide(Decimal(x), self._B)))
        if len(self._cache) > 4096:
            self._cache.clear()
        self._cache[key] = val
        return val

    def cost(self, x: int, n: int) -> Decimal:
        """Exact micro-dollar cost of buying ``n`` YES at state ``x`` (use -x for NO)."""
        return _CTX.subtract(self._potential(x + n), self._potential(x))

    def cost_up(self, x: int, n: int) -> int:
        """Cost of buying ``n`` YES, rounded up to the micro-dollar (what a taker pays)."""
        return int(self.cost(x, n).to_integral_value(rounding=ROUND_CEILING))

    def cost_down(self, x: int, n: int) -> int:
        """Cost rounded down (what the maker pays out when it buys back)."""
        return int(self.cost(x, n).to_integral_value(rounding=ROUND_FLOOR))

    def price(self, x: int) -> Decimal:
        """Marginal YES price at state ``x`` in micro-dollars."""
        e = _CTX.exp(_CTX.divide(Decimal(x), self._B))
        return _CTX.divide(_CTX.multiply(Decimal(MICRO), e), _CTX.add(e, _ONE))

    def run_length(self, x: int, target: int, strict: bool, cap: int) -> int:
        """How many YES contracts, bought one after another from state ``x``, each cost at most
        ``target`` micro-dollars (strictly less if ``strict``).  At most ``cap``.

        Contract costs increase with each one bought, so this is a prefix length.
        """
        if cap <= 0 or target <= 0:
            return 0

        def ok(k: int) -> bool:  # the k-th contract (1-based) is acceptable
            c = self.cost(x + k - 1, 1)
            return c < target if strict else c <= target

        if not ok(1):
            return 0
        if target >= MICRO:
            return cap
        # closed form for the last acceptable contract, then settle it exactly
        tau = _CTX.divide(Decimal(target), self._bd)
        et = _CTX.exp(tau)
        e1 = _CTX.exp(_CTX.divide(_ONE, self._B))
        guess = 1
        if e1 > et:
            ratio = _CTX.divide(_CTX.subtract(et, _ONE), _CTX.subtract(e1, et))
            if ratio > _ZERO:
                est = _CTX.add(_CTX.multiply(self._B, _CTX.ln(ratio)), Decimal(1 - x))
                guess = int(est.to_integral_value(rounding=ROUND_FLOOR))
        lo = max(1, min(cap, guess))
        if ok(lo):
            step = 1
            hi = lo + 1
            while hi <= cap and ok(hi):
                lo = hi
                step *= 2
                hi = lo + step
            if hi > cap:
                if ok(cap):
                    return cap
                hi = cap
            while hi - lo > 1:  # ok(lo) and not ok(hi)
                mid = (lo + hi) // 2
                if ok(mid):
                    lo = mid
                else:
                    hi = mid
            return lo
        hi = lo
        lo = 1
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if ok(mid):
                lo = mid
            else:
                hi = mid
        return lo
