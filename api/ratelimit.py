"""Per-user rate limits: one token bucket for reads (GET/HEAD) and one for writes, per user.

The buckets live in this API process: with N replicas a user gets up to N times the limit. That
is enough to stop a runaway bot; a shared limit would need Redis or Postgres and is left for
when it matters. Limits are read from the settings on every request, so they can be tuned (and
lowered in tests) without a restart of the bucket table.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from core.config import get_settings

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_MAX_BUCKETS = 100_000


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self) -> None:
        self._buckets: dict[tuple[int, str], _Bucket] = {}

    def take(self, user_id: int, method: str) -> float | None:
        """Take one token; None if allowed, else the seconds to wait before retrying."""
        settings = get_settings()
        if method.upper() in READ_METHODS:
            kind, rate, burst = (
                "read",
                settings.rate_limit_reads_per_second,
                settings.rate_limit_reads_burst,
            )
        else:
            kind, rate, burst = (
                "write",
                settings.rate_limit_writes_per_second,
                settings.rate_limit_writes_burst,
            )
        now = time.monotonic()
        bucket = self._buckets.get((user_id, kind))
        if bucket is None:
            if len(self._buckets) >= _MAX_BUCKETS:
                self._buckets.clear()  # a full bucket is the same as no bucket
            bucket = self._buckets[(user_id, kind)] = _Bucket(float(burst), now)
        bucket.tokens = min(float(burst), bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / rate if rate > 0 else math.inf


def retry_after_header(wait_seconds: float) -> str:
    return str(max(1, math.ceil(wait_seconds))) if math.isfinite(wait_seconds) else "3600"
