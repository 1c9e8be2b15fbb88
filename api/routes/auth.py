"""Registration, login and the caller's profile (API.md "Users and wallets")."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentUser
from api.errors import ApiError
from core.config import get_settings
from core.db import connection, transaction
from services.accounts.auth import AuthenticationError, AuthUser, check_credentials, user_by_id
from services.accounts.schemas import LoginRequest, RegisterRequest, TokenResponse, UserPublic
from services.accounts.tokens import issue_access_token
from services.accounts.users import EmailTakenError, create_user

router = APIRouter(tags=["users"])


def user_public(user: AuthUser) -> UserPublic:
    return UserPublic(
        id=str(user.id),
        email=user.email,
        display_name=user.display_name,
        role=user.role,
        status=user.status,
        created_at=user.created_at,
    )


@router.post("/v1/auth/register", status_code=201, response_model=UserPublic)
async def register(body: RegisterRequest) -> UserPublic:
    try:
        async with transaction() as conn:
            user_id = await create_user(
                conn, email=body.email, password=body.password, display_name=body.display_name
            )
            user = await user_by_id(conn, user_id)
    except EmailTakenError as exc:
        raise ApiError("conflict", "an account with this email already exists") from exc
    assert user is not None
    return user_public(user)


@router.post("/v1/auth/login", response_model=TokenResponse)
async def login(body: LoginRequest) -> TokenResponse:
    async with connection() as conn:
        try:
            user = await check_credentials(conn, body.email, body.password)
        except AuthenticationError as exc:
            raise ApiError("unauthorized", "wrong email or password") from exc
    if not user.is_active:
        raise ApiError("forbidden", "this account is suspended")
    return TokenResponse(
        access_token=issue_access_token(user.id, user.role),
        expires_in=get_settings().jwt_ttl_seconds,
    )


@router.get("/v1/me", response_model=UserPublic)
async def me(user: CurrentUser) -> UserPublic:
    return user_public(user)
