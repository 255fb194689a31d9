"""Bearer-token authentication in front of an ASGI app (the model server's ``--auth token``).

Every HTTP request needs ``Authorization: Bearer <token>``, checked by an
``authenticate(header) -> bool`` callable (static API keys,
:class:`~windlass.server.api_keys.StaticApiKeys`, and the store's tokens already verified,
:class:`~windlass.server.store_tokens.StoreTokens`), then, when it says no, by an optional
async ``verify(header) -> bool`` (the store's tokens not cached yet), except the paths left
open (the health probes and ``/metrics`` by default). ``verify`` may raise a windlass error:
PermissionDenied (403, a valid token without a role in the served project) or
BackendUnavailable (503, the store could not be asked). A request
without a valid token is answered 401 ``UNAUTHENTICATED`` with ``WWW-Authenticate: Bearer``;
each invalid token counts as a failure of the source address in a
:class:`~windlass.server.ratelimit.FailureLimiter`, and an address over its limit is
answered 429 with ``Retry-After`` whatever it sends.

Pure ASGI: the accepted path costs one scan of the header list, one limiter lookup and
the ``authenticate`` call (one digest and one set or dict lookup).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection

import orjson
from starlette.types import ASGIApp

from windlass.exceptions import TooManyRequests, Unauthenticated, WindlassError
from windlass.server.ratelimit import FailureLimiter
from windlass.serving.asgi import Receive, Scope, Send, send_json

Authenticate = Callable[[bytes | None], bool]
"""Return whether an ``Authorization`` header value (``None`` when absent) is accepted."""

Verify = Callable[[bytes], Awaitable[bool]]
"""The slow check of a header ``Authenticate`` refused: may ask a store (may raise)."""

PROBE_PATHS = frozenset({"/v2/health/live", "/v2/health/ready", "/metrics"})
"""The model server's paths open to probes and scrapers unless ``--protect-probes``."""

_CHALLENGE = b'Bearer realm="windlass"'
_INVALID = b'Bearer realm="windlass", error="invalid_token"'


class BearerAuth:
    """ASGI middleware: 401 unless ``authenticate`` accepts the request's bearer token."""

    def __init__(
        self,
        app: ASGIApp,
        authenticate: Authenticate,
        *,
        limiter: FailureLimiter | None = None,
        open_paths: Collection[str] = PROBE_PATHS,
        verify: Verify | None = None,
    ) -> None:
        self.app = app
        self.authenticate = authenticate
        self.verify = verify
        self.limiter = limiter or FailureLimiter()
        self.open_paths = frozenset(open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass an authenticated (or open) request on; answer 401 or 429 otherwise."""
        if scope["type"] != "http" or scope["path"] in self.open_paths:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = client[0] if client else "unknown"
        header = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                header = value
                break
        try:
            self.limiter.check(address)
        except TooManyRequests as limited:
            retry = str(limited.details["retry_after"]).encode()
            await _refuse(send, limited, [(b"retry-after", retry)])
            return
        if self.authenticate(header):
            await self.app(scope, receive, send)
            return
        if header is not None and self.verify is not None:
            try:
                accepted = await self.verify(header)
            except WindlassError as refused:
                await _refuse(send, refused, [])
                return
            if accepted:
                await self.app(scope, receive, send)
                return
        if header is None:
            missing = Unauthenticated(
                "authentication required: send the API key as `Authorization: Bearer <key>`"
            )
            await _refuse(send, missing, [(b"www-authenticate", _CHALLENGE)])
            return
        self.limiter.failed(address)
        invalid = Unauthenticated("the bearer token is not valid")
        await _refuse(send, invalid, [(b"www-authenticate", _INVALID)])


async def _refuse(send: Send, error: WindlassError, headers: list[tuple[bytes, bytes]]) -> None:
    await send_json(send, error.http_status, orjson.dumps(error.to_dict()), headers)
