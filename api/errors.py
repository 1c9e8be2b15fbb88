"""One error shape everywhere: {"error": {"code", "message", "details"}} with the right status."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

STATUS_BY_CODE: dict[str, int] = {
    "invalid_request": 422,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "insufficient_funds": 409,
    "insufficient_position": 409,
    "market_not_open": 409,
    "would_take": 409,
    "payload_too_large": 413,
    "rate_limited": 429,
    "unavailable": 503,
    "internal_error": 500,
}

CODE_BY_STATUS = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "invalid_request",
    409: "conflict",
    413: "payload_too_large",
    415: "invalid_request",
    422: "invalid_request",
    429: "rate_limited",
    503: "unavailable",
}


class ApiError(Exception):
    """A failure the client should see, with a machine-readable code and a human message."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or STATUS_BY_CODE.get(code, 400)
        self.details = details or {}
        self.headers = headers


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _json_safe(errors: list[Any]) -> list[dict[str, Any]]:
    safe = []
    for err in errors:
        safe.append(
            {
                "loc": [str(part) for part in err.get("loc", ())],
                "msg": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
        )
    return safe


_BAD_TEXT = "text fields may not contain NUL characters or unpaired surrogates"


def _is_bad_text(exc: DBAPIError) -> bool:
    cause = getattr(exc.orig, "__cause__", None) or exc.orig
    name = type(cause).__name__
    return name in ("CharacterNotInRepertoireError", "UntranslatableCharacterError") or (
        isinstance(cause, UnicodeEncodeError)
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message, exc.details), exc.status, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _json_safe(list(exc.errors()))
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(p for p in first["loc"] if p not in ("body", "query", "path"))
        message = f"{where}: {first['msg']}" if where else str(first["msg"])
        return JSONResponse(error_body("invalid_request", message, {"errors": errors}), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = CODE_BY_STATUS.get(exc.status_code, "invalid_request")
        # A body that is not JSON at all is as invalid as one that fails validation: one
        # status for `invalid_request`, as API.md promises.
        status = STATUS_BY_CODE["invalid_request"] if exc.status_code == 400 else exc.status_code
        message = "the body is not valid JSON" if exc.status_code == 400 else str(exc.detail)
        return JSONResponse(error_body(code, message), status, headers=exc.headers)

    @app.exception_handler(UnicodeEncodeError)
    async def _unencodable(_: Request, exc: UnicodeEncodeError) -> JSONResponse:
        return JSONResponse(error_body("invalid_request", _BAD_TEXT), 422)

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        # Text Postgres cannot store (NUL bytes, lone surrogates) is bad input, not a fault.
        if _is_bad_text(exc):
            return JSONResponse(error_body("invalid_request", _BAD_TEXT), 422)
        log.exception("database error on %s %s", request.method, request.url.path)
        return JSONResponse(
            error_body("unavailable", "the database could not answer; retry"),
            503,
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body("internal_error", "internal server error"), 500)
