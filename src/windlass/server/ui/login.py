"""``/login`` and ``/logout``: signing a browser in with an API token, and out.

``GET /login`` offers a token form and, when OIDC is configured, a button to the
provider's sign-in (``/api/v1/auth/oidc/login``). ``POST /login`` checks the token as every
API request is checked (the same identity, failure limit and audit of failures) and sets
the very cookie the OIDC flow sets: :data:`~windlass.server.deps.SESSION_COOKIE`,
HttpOnly, SameSite=Lax, Secure over https. ``POST /logout`` clears it. Both forms are
refused when the browser says they come from another site (``Sec-Fetch-Site``, ``Origin``).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import anyio.to_thread
from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from windlass import config
from windlass.exceptions import InvalidInput, Unauthenticated, WindlassError
from windlass.server.container import app_services
from windlass.server.deps import SESSION_COOKIE
from windlass.server.oidc import safe_next
from windlass.server.ui.render import render
from windlass.server.ui.session import error_page

router = APIRouter(include_in_schema=False)
#: The largest sign-in form accepted (a token and a path fit many times over).
MAX_FORM_BYTES = 8192


def _same_origin(request: Request) -> bool:
    """Return whether a form post comes from this server's pages (or says nothing).

    Browsers say where a request comes from in ``Sec-Fetch-Site``; older ones only in
    ``Origin`` (``null`` under this server's ``Referrer-Policy: no-referrer``, so the
    origin is compared only when one is named). A client that sends neither is no browser
    page of another site.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return True
    found = urlsplit(origin)
    return found.netloc == request.headers.get("host", "") and found.scheme == request.url.scheme


def _next(raw: str | None) -> str:
    try:
        return safe_next(raw)
    except InvalidInput:
        return "/"


def _login_page(request: Request, next_path: str, message: str | None, status: int) -> Response:
    return render(
        None,
        "login.html",
        {
            "project": None,
            "next": next_path,
            "message": message,
            "oidc": bool(config.settings.oidc_discovery_url),
        },
        status=status,
    )


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    """Return the sign-in page."""
    return _login_page(request, _next(next), None, 200)


@router.post("/login")
async def sign_in(request: Request) -> Response:
    """Check the pasted token; set the session cookie and go on to ``next``."""
    if not _same_origin(request):
        return Response("cross-origin sign-in refused", status_code=403, media_type="text/plain")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return Response("form too large", status_code=413, media_type="text/plain")
    form = parse_qs(body.decode("utf-8", "replace"), max_num_fields=4)
    secret = (form.get("token") or [""])[0].strip()
    next_path = _next((form.get("next") or ["/"])[0])
    container = app_services(request.app)
    if not container.auth:
        return RedirectResponse(next_path, status_code=303)
    address = request.client.host if request.client is not None else "unknown"
    limiter = container.auth_failures
    try:
        limiter.check(address)
        await anyio.to_thread.run_sync(container.identity.authenticate, secret, address)
    except Unauthenticated:
        limiter.failed(address)
        return _login_page(request, next_path, "That token was not accepted.", 401)
    except WindlassError as refused:
        return error_page(None, refused)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        path="/",
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="lax",
    )
    return response


@router.post("/logout")
def sign_out(request: Request) -> Response:
    """Clear the session cookie and show the sign-in page.

    The session of an OIDC browser login ends for good: the token its cookie holds is
    revoked (a token pasted into the sign-in page is the user's own and stays valid).
    """
    if not _same_origin(request):
        return Response("cross-origin sign-out refused", status_code=403, media_type="text/plain")
    container = app_services(request.app)
    secret = request.cookies.get(SESSION_COOKIE)
    if container.auth and secret:
        address = request.client.host if request.client is not None else None
        container.identity.end_session(secret, address)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response
