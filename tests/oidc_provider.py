"""A small, real OpenID Connect provider on loopback for tests (no patched functions).

A Starlette app served by uvicorn on 127.0.0.1 (a free port) in a background thread. It
serves discovery, its keys (an RSA key generated per run), ``/authorize`` (approves the
configured test user at once: a redirect back with a single-use code), ``/token``
(authorization code with the PKCE verifier and client secret checked; the device-code
grant) and ``/device`` (device authorization, RFC 8628; the first poll is pending, the
next gets tokens). Tests may ask it to misbehave: sign with another key, name another
audience, drop or change the nonce, issue expired tokens.

Usage::

    with OidcProvider(client_id="windlass", client_secret="s3cret") as idp:
        idp.user = {"sub": "u1", "preferred_username": "ada", "groups": ["churn-team"]}
        token = idp.id_token(audience="windlass")
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlencode

import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route


async def _form(request: Request) -> dict[str, str]:
    """Return an ``application/x-www-form-urlencoded`` body (no python-multipart needed)."""
    return dict(parse_qsl((await request.body()).decode()))


@dataclass
class _Grant:
    """A code or device code: whose, for which client, and how it must be redeemed."""

    claims: dict[str, Any]
    nonce: str | None = None
    redirect_uri: str | None = None
    challenge: str | None = None
    polls: int = 0
    used: bool = False


@dataclass
class Misbehave:
    """What the next ID tokens get wrong (all False: correct tokens)."""

    foreign_key: bool = False
    audience: str | None = None
    nonce: str | None = None
    expired: bool = False
    issuer: str | None = None


@dataclass
class OidcProvider:
    """An OIDC provider in a background thread; a context manager."""

    client_id: str = "windlass"
    client_secret: str = "provider-secret"
    user: dict[str, Any] = field(
        default_factory=lambda: {"sub": "user-1", "preferred_username": "ada"}
    )
    misbehave: Misbehave = field(default_factory=Misbehave)
    device_flow: bool = True

    def __post_init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"})
        self.kid = "k1"
        self.jwks_requests = 0
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"})
        self._codes: dict[str, _Grant] = {}
        self._devices: dict[str, _Grant] = {}
        self.token_requests = 0
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def issuer(self) -> str:
        """Return the issuer URL (also the base of every endpoint)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def discovery_url(self) -> str:
        """Return the discovery document's URL."""
        return f"{self.issuer}/.well-known/openid-configuration"

    # -- tokens ---------------------------------------------------------------------------------
    def id_token(self, *, audience: str | None = None, nonce: str | None = None) -> str:
        """Return an ID token for the configured user (as misbehaviour says)."""
        now = int(time.time())
        bad = self.misbehave
        claims = {
            **self.user,
            "iss": bad.issuer or self.issuer,
            "aud": bad.audience or audience or self.client_id,
            "iat": now - (7200 if bad.expired else 0),
            "exp": now + (-3600 if bad.expired else 300),
        }
        if bad.nonce is not None:
            claims["nonce"] = bad.nonce
        elif nonce is not None:
            claims["nonce"] = nonce
        key = self.other_key if bad.foreign_key else self.key
        return jwt.encode({"alg": "RS256", "kid": self.kid}, claims, key)

    def rotate_key(self) -> None:
        """Sign from now on with a new key under a new key id (the JWKS serves only it)."""
        number = int(self.kid[1:]) + 1
        self.kid = f"k{number}"
        self.key = RSAKey.generate_key(2048, parameters={"kid": self.kid, "use": "sig"})

    # -- endpoints ------------------------------------------------------------------------------
    async def _discovery(self, request: Request) -> Response:
        document = {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        }
        if self.device_flow:
            document["device_authorization_endpoint"] = f"{self.issuer}/device"
        return JSONResponse(document)

    async def _jwks(self, request: Request) -> Response:
        self.jwks_requests += 1
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    async def _authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != self.client_id or q.get("response_type") != "code":
            return JSONResponse({"error": "invalid_request"}, 400)
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return JSONResponse({"error": "invalid_request", "error_description": "PKCE"}, 400)
        code = secrets.token_urlsafe(16)
        self._codes[code] = _Grant(
            dict(self.user), q.get("nonce"), q.get("redirect_uri"), q.get("code_challenge")
        )
        back = urlencode({"code": code, "state": q.get("state", "")})
        return RedirectResponse(f"{q['redirect_uri']}?{back}", 302)

    def _client_ok(self, request: Request, form: dict[str, str]) -> bool:
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            pair = base64.b64decode(header[6:]).decode()
            return pair == f"{self.client_id}:{self.client_secret}"
        return form.get("client_secret") == self.client_secret

    async def _token(self, request: Request) -> Response:
        self.token_requests += 1
        form = await _form(request)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            if not self._client_ok(request, form):
                return JSONResponse({"error": "invalid_client"}, 401)
            grant = self._codes.get(form.get("code", ""))
            if grant is None or grant.used or grant.redirect_uri != form.get("redirect_uri"):
                return JSONResponse({"error": "invalid_grant"}, 400)
            grant.used = True  # a code is redeemed once
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if challenge != grant.challenge:
                return JSONResponse({"error": "invalid_grant", "error_description": "PKCE"}, 400)
            return JSONResponse(self._tokens(grant))
        if grant_type == "urn:ietf:params:oauth:grant-type:device_code":
            grant = self._devices.get(form.get("device_code", ""))
            if grant is None or grant.used or form.get("client_id") != self.client_id:
                return JSONResponse({"error": "invalid_grant"}, 400)
            grant.polls += 1
            if grant.polls == 1:
                return JSONResponse({"error": "authorization_pending"}, 400)
            grant.used = True
            return JSONResponse(self._tokens(grant))
        return JSONResponse({"error": "unsupported_grant_type"}, 400)

    def _tokens(self, grant: _Grant) -> dict[str, Any]:
        saved, self.user = self.user, grant.claims
        try:
            id_token = self.id_token(nonce=grant.nonce)
        finally:
            self.user = saved
        return {
            "access_token": secrets.token_urlsafe(16),
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": id_token,
        }

    async def _device(self, request: Request) -> Response:
        form = await _form(request)
        if form.get("client_id") != self.client_id:
            return JSONResponse({"error": "invalid_client"}, 401)
        device_code = secrets.token_urlsafe(16)
        self._devices[device_code] = _Grant(dict(self.user))
        return JSONResponse(
            {
                "device_code": device_code,
                "user_code": "WDLS-1234",
                "verification_uri": f"{self.issuer}/activate",
                "verification_uri_complete": f"{self.issuer}/activate?user_code=WDLS-1234",
                "expires_in": 60,
                "interval": 1,
            }
        )

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self, timeout: float = 10) -> OidcProvider:
        """Serve in a background thread; return once requests are served."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = int(sock.getsockname()[1])
        app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._discovery),
                Route("/jwks", self._jwks),
                Route("/authorize", self._authorize),
                Route("/token", self._token, methods=["POST"]),
                Route("/device", self._device, methods=["POST"]),
            ]
        )
        config = uvicorn.Config(app, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the OIDC provider did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)

    def __enter__(self) -> OidcProvider:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
