"""The database engine and sessions (SQLAlchemy async over asyncpg)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from core.config import Settings, get_settings

_engine: AsyncEngine | None = None


@lru_cache(maxsize=2048)
def sql(statement: str) -> TextClause:
    """`text(statement)`, built once per distinct statement. Building one parses its bind
    parameters with regular expressions: that was a quarter of a trade batch's Python time."""
    return text(statement)


def create_engine(settings: Settings | None = None) -> AsyncEngine:
    settings = settings or get_settings()
    # Overflow connections are closed when returned, so a pool smaller than the usual
    # concurrency opens a new connection (a Postgres backend) for most requests: size the pool
    # for the load, and let the overflow absorb bursts. The pre-ping costs a round trip per
    # checkout; without it, connections Postgres dropped kept failing requests one by one
    # (tests/trading/test_database_faults.py).
    return create_async_engine(
        settings.async_database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_pool_size // 2,
        pool_pre_ping=True,
    )


def get_engine() -> AsyncEngine:
    """The process-wide engine, created on first use."""
    global _engine
    if _engine is None:
        _engine = create_engine()
    return _engine


async def dispose_engine() -> None:
    global _engine
    if _engine is not None:
        await _engine.dispose()
        _engine = None


@asynccontextmanager
async def transaction() -> AsyncIterator[AsyncConnection]:
    """One database transaction: committed on success, rolled back on any error."""
    async with get_engine().begin() as conn:
        yield conn


@asynccontextmanager
async def connection() -> AsyncIterator[AsyncConnection]:
    """A connection for reads (autocommit-free, rolled back at the end)."""
    async with get_engine().connect() as conn:
        yield conn


@asynccontextmanager
async def autocommit() -> AsyncIterator[AsyncConnection]:
    """A connection whose every statement commits on its own: no BEGIN and ROLLBACK round
    trips. For hot reads of one statement each (authenticating a request)."""
    async with get_engine().connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn
