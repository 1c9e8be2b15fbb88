"""Settings come from the environment and refuse unsafe defaults outside development."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.config import DEFAULT_JWT_SECRET, Settings


def test_production_refuses_the_default_jwt_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ODDSMITH_ENV", "production")
    monkeypatch.delenv("JWT_SECRET", raising=False)
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        Settings()


def test_production_accepts_a_real_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ODDSMITH_ENV", "production")
    monkeypatch.setenv("JWT_SECRET", "x" * 40)
    assert Settings().jwt_secret == "x" * 40


def test_development_allows_the_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ODDSMITH_ENV", "development")
    monkeypatch.delenv("JWT_SECRET", raising=False)
    assert Settings().jwt_secret == DEFAULT_JWT_SECRET


def test_database_url_is_turned_into_the_asyncpg_driver_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db:5432/oddsmith")
    settings = Settings()
    assert settings.async_database_url == "postgresql+asyncpg://u:p@db:5432/oddsmith"
    assert settings.asyncpg_dsn == "postgresql://u:p@db:5432/oddsmith"
