"""The double-entry ledger: accounts, transactions and their append-only entries."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, ForeignKey, Identity, Text
from sqlmodel import Field, SQLModel

from models.base import utcnow


class AccountKind(StrEnum):
    """What an account holds. User accounts can never go negative (a CHECK constraint)."""

    USER_AVAILABLE = "user_available"
    USER_RESERVED = "user_reserved"
    MARKET_ESCROW = "market_escrow"
    PLATFORM_FEES = "platform_fees"
    PLATFORM_MARKET_MAKER = "platform_market_maker"
    EXTERNAL = "external"  # the outside world: deposits come from it, withdrawals go to it


class LedgerAccount(SQLModel, table=True):
    __tablename__ = "ledger_accounts"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    kind: str = Field(sa_column=Column(Text, nullable=False))
    user_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("users.id"), nullable=True)
    )
    market_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    balance: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class LedgerTransaction(SQLModel, table=True):
    __tablename__ = "ledger_transactions"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    kind: str = Field(sa_column=Column(Text, nullable=False))
    idempotency_key: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    user_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    market_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    order_id: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    memo: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class LedgerEntry(SQLModel, table=True):
    __tablename__ = "ledger_entries"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    transaction_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("ledger_transactions.id"), nullable=False)
    )
    account_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("ledger_accounts.id"), nullable=False)
    )
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    balance_after: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
