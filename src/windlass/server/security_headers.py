"""Security headers: ``nosniff`` on every response, a tight policy on every HTML page.

One pure-ASGI middleware for the tracking server and the model server. It touches only the
header list of the ``http.response.start`` message: a JSON response gets one header
appended, an HTML page (content type ``text/html``) also gets

- ``Content-Security-Policy``: :data:`DEFAULT_CSP` unless the page set its own (the offline
  API docs pages set one allowing exactly their inline script, by hash);
- ``X-Frame-Options: DENY`` (and ``frame-ancestors 'none'`` in the policy): no page of
  ours is framed by another site (clickjacking);
- ``Referrer-Policy: no-referrer``: page URLs (run ids, model names) stay private.

Headers the app already set are kept as they are.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
"""The policy of an HTML page that sets none: everything from this server, no inline code."""

_NOSNIFF = (b"x-content-type-options", b"nosniff")
_HTML_HEADERS = (
    (b"content-security-policy", DEFAULT_CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
_WATCHED = frozenset({_NOSNIFF[0], *(name for name, _ in _HTML_HEADERS)})


def add_security_headers(headers: list[tuple[bytes, bytes]]) -> None:
    """Append the security headers ``headers`` lacks (names lower-case, as ASGI has them)."""
    html = False
    present: set[bytes] | None = None
    for name, value in headers:
        if name == b"content-type":
            html = value[:9].lower() == b"text/html"
        elif name in _WATCHED:
            if present is None:
                present = set()
            present.add(name)
    if present is None or _NOSNIFF[0] not in present:
        headers.append(_NOSNIFF)
    if html:
        headers.extend(h for h in _HTML_HEADERS if present is None or h[0] not in present)


class SecurityHeaders:
    """ASGI middleware adding :func:`add_security_headers` to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request, adding the security headers to its response's start message."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers")
                if isinstance(headers, list):
                    add_security_headers(headers)
                else:  # a tuple, or none at all: the message gets its own list
                    message["headers"] = listed = list(headers or ())
                    add_security_headers(listed)
            await send(message)

        await self.app(scope, receive, send_secured)
