"""Security basics for every response: headers, and a cap on request bodies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from api.errors import error_body

MAX_BODY_BYTES = 64 * 1024  # every request body of the API is small JSON

_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# The interactive docs load their scripts from a CDN; everything else is data only.
_DOCS = ("/docs", "/redoc")


async def secure_responses(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        return JSONResponse(
            error_body(
                "payload_too_large", f"request bodies are limited to {MAX_BODY_BYTES} bytes"
            ),
            413,
        )
    response = await call_next(request)
    for name, value in _HEADERS.items():
        response.headers.setdefault(name, value)
    if not request.url.path.startswith(_DOCS):
        response.headers.setdefault("Content-Security-Policy", "default-src 'none'")
    if request.url.path.startswith("/v1/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response
