"""Calling a market's workflow from the API: updates with transparent RollingOver retries and
Temporal failures mapped onto the API's error codes."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, TypeVar

from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import STATUS_BY_CODE, ApiError
from core.config import get_settings
from core.db import connection, sql
from core.names import market_workflow_id

log = logging.getLogger(__name__)

T = TypeVar("T")

# Engine and workflow failure types that are not already API codes.
_CODE_ALIASES = {
    "order_not_found": "not_found",
    "duplicate_order": "conflict",
    "order_expired": "invalid_request",
}
_RETRY_PAUSE_SECONDS = 0.05
_MAX_ATTEMPTS = 200  # RollingOver lasts one drain; resource limits a few round trips


def api_error_for_code(failure_type: str, message: str) -> ApiError:
    """A workflow's or the engine's failure as the API's error."""
    code = _CODE_ALIASES.get(failure_type, failure_type or "internal_error")
    if code not in STATUS_BY_CODE:
        log.error("unexpected workflow failure %s: %s", failure_type, message)
        code = "internal_error"
    return ApiError(code, message)


async def update_market(
    client: Client,
    market_id: str,
    update: str,
    argument: Any,
    result_type: type[T],
    *,
    update_id: str | None = None,
) -> T:
    handle = client.get_workflow_handle(market_workflow_id(market_id))
    deadline = get_settings().market_update_timeout_seconds
    for attempt in range(_MAX_ATTEMPTS):
        try:
            return await asyncio.wait_for(
                handle.execute_update(update, argument, id=update_id, result_type=result_type),
                timeout=deadline,
            )
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as exc:
            log.warning("market %s did not answer %s within %ss", market_id, update, deadline)
            raise ApiError(
                "unavailable",
                "the market did not answer in time; retry (with the same client_order_id)",
                headers={"Retry-After": "1"},
            ) from exc
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError):
                if cause.type == "RollingOver":
                    await asyncio.sleep(_RETRY_PAUSE_SECONDS * min(attempt + 1, 10))
                    continue
                raise api_error_for_code(cause.type or "", cause.message) from exc
            raise ApiError("internal_error", "the market could not handle the request") from exc
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise await _finished_or_unknown(market_id) from exc
            if exc.status == RPCStatusCode.RESOURCE_EXHAUSTED:
                await asyncio.sleep(_RETRY_PAUSE_SECONDS * min(attempt + 1, 10))
                continue
            if exc.status == RPCStatusCode.FAILED_PRECONDITION and "completed" in exc.message:
                raise ApiError("market_not_open", "the market is finished") from exc
            log.warning("temporal error on %s %s: %s", update, market_id, exc)
            raise ApiError(
                "unavailable",
                "the orchestrator is unavailable, retry",
                headers={"Retry-After": "1"},
            ) from exc
    raise ApiError("unavailable", "the market is busy, retry", headers={"Retry-After": "1"})


async def _finished_or_unknown(market_id: str) -> ApiError:
    """A market without a running workflow is either finished (settled) or does not exist."""
    async with connection() as conn:
        status = (
            await conn.execute(
                sql("SELECT status FROM markets WHERE id = :m"),
                {"m": int(market_id) if market_id.isdigit() else -1},
            )
        ).scalar_one_or_none()
    if status is None:
        return ApiError("not_found", f"no market {market_id}")
    already = "already " if status in ("resolved", "settled") else ""
    return ApiError("market_not_open", f"the market is {already}{status}")
