"""Pure ASGI middleware of the HTTP surface: the request body limit and the security headers.

Pure ASGI rather than Starlette's ``BaseHTTPMiddleware``: they only look at the scope and wrap
``receive``/``send``, so they add no task and no copy of the body to each request.
"""

from __future__ import annotations

import json
import os

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import BadRequest, RequestTooLarge, ServiceError

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


def wants_graphql_response(accept: str | None) -> bool:
    """Whether the client accepts ``application/graphql-response+json`` (GraphQL over HTTP): it then gets
    that media type, and HTTP status codes that tell request errors from results."""
    if not accept:
        return False
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if media.lower() == GRAPHQL_RESPONSE_JSON and not any(
            p.replace(" ", "") in ("q=0", "q=0.0") for p in params
        ):
            return True
    return False


def error_body(error: ServiceError) -> bytes:
    """A GraphQL-shaped body (``{"errors": [...]}``, no ``data``) for a refusal before any GraphQL ran."""
    return json.dumps({"errors": [{"message": error.message, "extensions": error.extensions()}]}).encode()


def media_type(accept: str | None) -> str:
    """The JSON media type to answer with, by the client's ``Accept`` header."""
    return f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8" if wants_graphql_response(accept) else "application/json"


async def send_error(scope: Scope, send: Send, status: int, error: ServiceError) -> None:
    """Answer ``status`` with :func:`error_body`, in the media type the client accepts."""
    body = error_body(error)
    accept = Headers(scope=scope).get("accept")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", media_type(accept).encode()),
                (b"content-length", str(len(body)).encode()),
                # The rest of a refused body is never read: the connection cannot carry another request.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    """Raised from ``receive`` when the streamed body passes the limit."""


class BodySizeLimit:
    """Refuses bodies over ``max_bytes`` with 413 ``REQUEST_TOO_LARGE``: by ``Content-Length`` before
    reading anything, and while streaming (chunked bodies declare no length), so at most ``max_bytes``
    plus one chunk is ever held in memory."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = RequestTooLarge(
            limit=self.max_bytes, message=f"The request body is larger than {self.max_bytes} bytes."
        )
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            try:
                too_large = int(declared) > self.max_bytes
            except ValueError:
                await send_error(scope, send, 400, BadRequest("The Content-Length header is not a number."))
                return
            if too_large:
                await send_error(scope, send, 413, refusal)
                return

        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def watched_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except _BodyTooLarge:
            if response_started:  # too late to answer; the server closes the connection
                raise
            await send_error(scope, send, 413, refusal)


class SecurityHeaders:
    """Headers that fit a JSON API: ``X-Content-Type-Options: nosniff`` on every response, and
    ``Cache-Control: no-store`` on responses to requests that carry credentials (a shared cache must never
    keep what one caller may see). With ``worker_pid`` (dev only) every response also names the process
    that answered in ``X-Machikoba-Worker-Pid``, so one can see ``serve --workers N`` spread the load."""

    def __init__(self, app: ASGIApp, *, worker_pid: bool = False) -> None:
        self.app = app
        self.worker_pid = str(os.getpid()) if worker_pid else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        authenticated = "authorization" in Headers(scope=scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                if authenticated:
                    headers["Cache-Control"] = "no-store"
                if self.worker_pid is not None:
                    headers["X-Machikoba-Worker-Pid"] = self.worker_pid
            await send(message)

        await self.app(scope, receive, send_with_headers)


__all__ = [
    "GRAPHQL_RESPONSE_JSON",
    "BodySizeLimit",
    "SecurityHeaders",
    "error_body",
    "media_type",
    "send_error",
    "wants_graphql_response",
]
