"""Request and response bodies of the User Management service."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

from models.money import MoneyFormatError, format_money, parse_money


class RegisterRequest(BaseModel):
    email: EmailStr
    password: str = Field(min_length=10, max_length=200)
    display_name: str | None = Field(None, min_length=1, max_length=80)


class LoginRequest(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=200)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class UserPublic(BaseModel):
    id: str
    email: str
    display_name: str
    role: str
    status: str
    created_at: datetime


# --- money in request and response bodies -------------------------------------------------


def _cash_amount(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError('amounts are decimal strings in dollars, like "12.50"')
    try:
        return parse_money(value, decimals=2)
    except MoneyFormatError as exc:
        raise ValueError(str(exc)) from None


MoneyOut = Annotated[
    int,
    PlainSerializer(format_money, return_type=str),
    WithJsonSchema({"type": "string", "examples": ["12.50"], "description": "US dollars"}),
]
"""Micro-dollars inside, a decimal-dollar string ("12.50") in JSON."""

CashAmount = Annotated[
    int,
    BeforeValidator(_cash_amount),
    PlainSerializer(format_money, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^[0-9]{1,13}(\.[0-9]{1,2})?$",
            "examples": ["25.00"],
            "description": "US dollars, greater than zero, at most two decimals",
        }
    ),
]
"""Cash moved in or out (deposits, withdrawals): dollars and cents, greater than zero."""


# --- API keys -------------------------------------------------------------------------------


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field("default", min_length=1, max_length=80)


class ApiKeyPublic(BaseModel):
    id: str
    name: str
    prefix: str
    created_at: datetime


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The key itself: shown this once, never again")


class ApiKeyList(BaseModel):
    items: list[ApiKeyPublic]
    next_cursor: str | None = None


# --- admin ----------------------------------------------------------------------------------


class UserList(BaseModel):
    items: list[UserPublic]
    next_cursor: str | None = None


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["client", "admin"] | None = None
    status: Literal["active", "suspended"] | None = None


# --- wallet ---------------------------------------------------------------------------------


class WalletPublic(BaseModel):
    available: MoneyOut
    reserved: MoneyOut = Field(description="Held for resting orders and pending withdrawals")
    total: MoneyOut


class TransactionPublic(BaseModel):
    id: str
    kind: str
    amount: MoneyOut = Field(description="Change of total cash (available + reserved)")
    balance_after: MoneyOut = Field(description="Total cash right after this transaction")
    market_id: str | None = None
    order_id: str | None = None
    created_at: datetime


class TransactionList(BaseModel):
    items: list[TransactionPublic]
    next_cursor: str | None = None


class PaymentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: CashAmount
    idempotency_key: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="Repeating a key returns the first deposit/withdrawal made with it",
    )


class PaymentPublic(BaseModel):
    id: str
    amount: MoneyOut
    status: Literal["pending", "completed", "failed"]
    failure_reason: str | None = None
    idempotency_key: str | None = None
    created_at: datetime
    updated_at: datetime


class PaymentList(BaseModel):
    items: list[PaymentPublic]
    next_cursor: str | None = None
