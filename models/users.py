"""Users of the platform: clients and admins."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, DateTime, Identity, Text
from sqlmodel import Field, SQLModel

from models.base import utcnow


class Role(StrEnum):
    CLIENT = "client"
    ADMIN = "admin"


class UserStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    email: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    password_hash: str = Field(sa_column=Column(Text, nullable=False))
    display_name: str = Field(sa_column=Column(Text, nullable=False))
    role: str = Field(default=Role.CLIENT, sa_column=Column(Text, nullable=False))
    status: str = Field(default=UserStatus.ACTIVE, sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
