"""Cursor pagination shared by list routes: `limit` and an opaque `cursor` (an id)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from api.errors import ApiError

Limit = Annotated[int, Query(ge=1, le=200, description="Items per page")]
Cursor = Annotated[str | None, Query(max_length=40, description="next_cursor of the last page")]


def cursor_id(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not cursor.isdigit() or len(cursor) > 19:
        raise ApiError("invalid_request", "cursor is not one this API gave out")
    return int(cursor)


def path_id(value: str, what: str) -> int:
    """An id from the path; anything that is not one of ours is simply not found."""
    if not value.isdigit() or len(value) > 18:
        raise ApiError("not_found", f"no such {what}")
    return int(value)
