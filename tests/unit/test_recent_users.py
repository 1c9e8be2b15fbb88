"""The API's short-lived cache of the users behind access tokens."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from services.accounts.auth import AuthUser, RecentUsers


def _user(status: str = "active") -> AuthUser:
    return AuthUser(7, "a@example.com", "a", "client", status, datetime.now(UTC))


def test_a_user_is_reused_within_the_ttl_and_read_again_after_it() -> None:
    cache = RecentUsers(ttl=0.05)
    cache.put(_user())
    found = cache.get(7)
    assert found is not None and found.status == "active"
    time.sleep(0.06)
    assert cache.get(7) is None


def test_forget_drops_a_user_at_once_and_a_zero_ttl_keeps_nothing() -> None:
    cache = RecentUsers(ttl=60)
    cache.put(_user())
    cache.forget(7)
    assert cache.get(7) is None
    off = RecentUsers(ttl=0)
    off.put(_user())
    assert off.get(7) is None
