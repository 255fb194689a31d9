"""Request-size limit: JSON bodies over ``WINDLASS_MAX_REQUEST_BYTES`` get 413.

Blob uploads (``PUT /api/v1/blobs/...``) stream to storage and are exempt; OTLP trace
exports (``POST /v1/traces``) bound their body in their route, as sent and once
decompressed (``WINDLASS_OTLP_MAX_BODY_BYTES``). The check reads
``Content-Length`` first and also counts streamed (chunked) bodies, so a body without a
length cannot slip past it.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from windlass.exceptions import PayloadTooLarge

_EXEMPT_PREFIX = "/api/v1/blobs/"
_OWN_LIMIT_PATHS = frozenset({"/v1/traces"})


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive


class BodySizeLimit:
    """ASGI middleware refusing request bodies larger than ``limit`` bytes."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, or answer 413 if its body is over the limit."""
        if (
            scope["type"] != "http"
            or scope["path"].startswith(_EXEMPT_PREFIX)
            or scope["path"] in _OWN_LIMIT_PATHS
        ):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await self._refuse(send, int(value))
                return
        # Read the whole (bounded) body first, then replay it: the app sees either a body
        # within the limit or nothing at all.
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message]), send)
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.limit:
                await self._refuse(send, seen)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        await self.app(
            scope,
            _replay([{"type": "http.request", "body": body, "more_body": False}], receive),
            send,
        )

    async def _refuse(self, send: Send, size: int) -> None:
        error = PayloadTooLarge(
            f"request body of at least {size} bytes exceeds the limit of {self.limit} bytes "
            "(WINDLASS_MAX_REQUEST_BYTES)",
            limit=self.limit,
        )
        body = json.dumps(error.to_dict()).encode()
        headers: list[Any] = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
