"""``/api/v1/auth/oidc``: OpenID Connect login for browsers and a token exchange for CLIs.

Off (404) unless ``WINDLASS_OIDC_DISCOVERY_URL`` is set. Every route is public: it is how a
caller gets credentials.

- ``GET /login?next=/path``: 302 to the provider (authorization code + PKCE S256), with the
  state, nonce and verifier in a signed, HttpOnly, SameSite=Lax cookie for ten minutes.
- ``GET /callback``: the provider sends the browser back here; the code is exchanged (with
  the client secret), the ID token verified, the user signed in (created on first login,
  its roles mapped from its claims), and an expiring token set as the HttpOnly
  ``windlass_session`` cookie; 302 to ``next``. A request authenticated by that cookie must
  send ``X-Windlass-Csrf`` to change anything.
- ``POST /exchange``: an ID token the provider issued for this client (``aud``) to a
  windlass token, shown once: what ``windlass login --oidc`` calls after the device flow.
- ``GET ``: what a CLI needs to run the device flow (discovery URL, client id, scopes).

Failed logins count against the source address's failure limit (429 past it) and are
audited as ``login.fail``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import Field

from windlass import config
from windlass.access.oidc import OidcAccounts, SignIn, identity_from_claims
from windlass.access.policy import Permission
from windlass.exceptions import Unauthenticated
from windlass.server.api.common import RequestBody, ResponseBody, errors, requires
from windlass.server.api.tokens import TokenOut
from windlass.server.api.users import UserOut
from windlass.server.container import Services
from windlass.server.deps import SESSION_COOKIE, ServicesDep
from windlass.server.oidc import (
    MAX_ID_TOKEN,
    STATE_SECONDS,
    LoginState,
    RelyingParty,
    relying_party_from_settings,
    safe_next,
)

PREFIX = "/api/v1/auth/oidc"
router = APIRouter(prefix=PREFIX, tags=["identity"])
#: The browser flow's state cookie (signed; only sent to this router's paths).
STATE_COOKIE = "windlass_oidc"

_REDIRECT: dict[int | str, dict[str, Any]] = {
    302: {
        "description": "Redirect (Location): to the provider, or back into windlass",
        "headers": {"Location": {"schema": {"type": "string"}}},
    }
}


class OidcSettings(ResponseBody):
    """What a CLI needs for the device flow: the provider, this server's client id, scopes."""

    discovery_url: str
    client_id: str
    scopes: str


class IdTokenExchange(RequestBody):
    """An ID token the provider issued for this server's client id."""

    id_token: Annotated[str, Field(min_length=1, max_length=MAX_ID_TOKEN)]


class ExchangedToken(ResponseBody):
    """The windlass token an ID token was exchanged for (its secret shown this once)."""

    user: UserOut
    token: TokenOut
    secret: str


def _address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def _redirect_uri(request: Request) -> str:
    return config.settings.oidc_redirect_url or str(request.url_for("oidc_callback"))


def _secure(request: Request) -> bool:
    """Return whether cookies get ``Secure``: https, or an https callback URL (behind a proxy)."""
    return request.url.scheme == "https" or _redirect_uri(request).startswith("https://")


def _sign_in(
    container: Services, request: Request, verify: Any, *, via: str
) -> tuple[RelyingParty, SignIn]:
    """Verify (``verify(party)`` returns claims) and sign in, counting and auditing failures."""
    address = _address(request)
    container.auth_failures.check(address)  # past the failure limit: 429
    party = relying_party_from_settings()
    accounts = OidcAccounts(container.identity)
    settings = config.settings
    try:
        claims = verify(party)
        who = identity_from_claims(
            claims,
            username_claim=settings.oidc_username_claim,
            role_claim=settings.oidc_role_claim,
        )
        signed = accounts.sign_in(
            who,
            settings.oidc_roles,
            token_seconds=settings.oidc_token_seconds,
            via=via,
            address=address,
        )
    except Unauthenticated as refused:
        container.auth_failures.failed(address)
        accounts.failed(str(refused.details.get("reason", "unknown")), address)
        raise
    return party, signed


@router.get(
    "",
    response_model=OidcSettings,
    responses=errors(400, 404),
    **requires(Permission.PUBLIC),
)
def oidc_settings() -> dict[str, Any]:
    """Return the OIDC provider and client id a CLI runs the device flow with (404: OIDC off)."""
    party = relying_party_from_settings()
    return {
        "discovery_url": party.discovery_url,
        "client_id": party.client_id,
        "scopes": party.scopes,
    }


@router.get(
    "/login",
    response_class=RedirectResponse,
    status_code=302,
    responses={**_REDIRECT, **errors(400, 404, 502)},
    **requires(Permission.PUBLIC),
)
def oidc_login(
    request: Request,
    next: Annotated[
        str | None,
        Query(max_length=2048, description="Where to go after the login (a path here)"),
    ] = None,
) -> RedirectResponse:
    """Start a browser login: redirect to the provider (authorization code + PKCE)."""
    party = relying_party_from_settings()
    login = LoginState.new(safe_next(next))
    response = RedirectResponse(party.authorization_url(_redirect_uri(request), login), 302)
    response.set_cookie(
        STATE_COOKIE,
        login.seal(party.state_key),
        max_age=STATE_SECONDS,
        path=PREFIX,
        httponly=True,
        secure=_secure(request),
        samesite="lax",
    )
    return response


@router.get(
    "/callback",
    name="oidc_callback",
    response_class=RedirectResponse,
    status_code=302,
    responses={**_REDIRECT, **errors(400, 401, 404, 429, 502)},
    **requires(Permission.PUBLIC),
)
def oidc_callback(
    request: Request,
    container: ServicesDep,
    code: Annotated[str | None, Query(max_length=4096)] = None,
    state: Annotated[str | None, Query(max_length=512)] = None,
    error: Annotated[str | None, Query(max_length=256)] = None,
) -> RedirectResponse:
    """Finish a browser login: check state, exchange the code, verify, set the session cookie."""
    login: list[LoginState] = []

    def verify(party: RelyingParty) -> dict[str, Any]:
        found = LoginState.open(request.cookies.get(STATE_COOKIE), party.state_key)
        party.accept_state(found, state)
        if error is not None or not code:
            raise Unauthenticated(
                f"OIDC login refused: the provider sent no code ({(error or 'none')[:80]})",
                reason="code",
            )
        login.append(found)
        id_token = party.exchange_code(code, _redirect_uri(request), found.verifier)
        return party.verify_id_token(id_token, nonce=found.nonce)

    _party, signed = _sign_in(container, request, verify, via="browser")
    response = RedirectResponse(login[0].next, 302)
    response.set_cookie(
        SESSION_COOKIE,
        signed.secret,
        max_age=config.settings.oidc_token_seconds,
        path="/",
        httponly=True,
        secure=_secure(request),
        samesite="lax",
    )
    response.delete_cookie(STATE_COOKIE, path=PREFIX)
    return response


@router.post(
    "/exchange",
    response_model=ExchangedToken,
    responses=errors(400, 401, 404, 413, 422, 429, 502),
    **requires(Permission.PUBLIC),
)
def oidc_exchange(
    body: IdTokenExchange, request: Request, container: ServicesDep
) -> dict[str, Any]:
    """Exchange an ID token for an expiring windlass token (its secret shown this once)."""
    _party, signed = _sign_in(
        container, request, lambda party: party.verify_id_token(body.id_token), via="exchange"
    )
    return {
        "user": signed.user.to_dict(),
        "token": signed.token.to_dict(),
        "secret": signed.secret,
    }
