"""Security basics for every response: headers, and a cap on request bodies.

Plain ASGI middleware: Starlette's `BaseHTTPMiddleware` (what `app.middleware("http")` builds)
runs every request in an extra task with memory streams, a cost paid on every order."""

from __future__ import annotations

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


def _headers_for(path: str) -> dict[str, str]:
    headers = dict(_HEADERS)
    if not path.startswith(_DOCS):
        headers["Content-Security-Policy"] = "default-src 'none'"
    if path.startswith("/v1/"):
        headers["Cache-Control"] = "no-store"
    return headers


def _body_too_large(scope: Scope) -> bool:
    declared = Headers(scope=scope).get("content-length")
    return declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES)


class SecureResponses:
    """Refuses bodies over MAX_BODY_BYTES (413) and sets the security headers a response
    does not set itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = _headers_for(scope["path"])

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    headers.setdefault(name, value)
            await send(message)

        if _body_too_large(scope):
            refusal = JSONResponse(
                error_body(
                    "payload_too_large", f"request bodies are limited to {MAX_BODY_BYTES} bytes"
                ),
                413,
            )
            await refusal(scope, receive, send_secured)
            return
        await self.app(scope, receive, send_secured)
