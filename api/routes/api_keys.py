"""API keys for bots (API.md "Users and wallets"): create (shown once), list, revoke."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import CurrentUser
from api.errors import ApiError
from api.routes.pagination import path_id
from core.db import connection, transaction
from services.accounts.api_keys import (
    ApiKey,
    TooManyKeysError,
    create_api_key,
    list_api_keys,
    revoke_api_key,
)
from services.accounts.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyList, ApiKeyPublic

router = APIRouter(tags=["api keys"])


def _public(key: ApiKey) -> ApiKeyPublic:
    return ApiKeyPublic(id=str(key.id), name=key.name, prefix=key.prefix, created_at=key.created_at)


@router.post("/v1/me/api-keys", status_code=201, response_model=ApiKeyCreated)
async def create_key(user: CurrentUser, body: ApiKeyCreate | None = None) -> ApiKeyCreated:
    """A new key; use it as `Authorization: Bearer <key>`. The key is in this answer only."""
    try:
        async with transaction() as conn:
            record, key = await create_api_key(conn, user.id, (body or ApiKeyCreate()).name)
    except TooManyKeysError as exc:
        raise ApiError("conflict", str(exc)) from exc
    return ApiKeyCreated(**_public(record).model_dump(), key=key)


@router.get("/v1/me/api-keys", response_model=ApiKeyList)
async def list_keys(user: CurrentUser) -> ApiKeyList:
    async with connection() as conn:
        keys = await list_api_keys(conn, user.id)
    return ApiKeyList(items=[_public(k) for k in keys])


@router.delete("/v1/me/api-keys/{key_id}", status_code=204)
async def revoke_key(user: CurrentUser, key_id: str) -> Response:
    """Revoke a key: requests with it are refused from now on."""
    async with transaction() as conn:
        revoked = await revoke_api_key(conn, user.id, path_id(key_id, "API key"))
    if not revoked:
        raise ApiError("not_found", "no such API key")
    return Response(status_code=204)
