"""The server as an OpenID Connect relying party: discovery, PKCE, code exchange, ID tokens.

:class:`RelyingParty` talks to the provider ``WINDLASS_OIDC_DISCOVERY_URL`` names: it reads
the discovery document and the provider's keys (JWKS; each cached for an hour, the keys
fetched again once when a token names a key id they lack, as after a key rotation), builds
the authorization URL of the authorization code flow with PKCE (S256, Authlib), exchanges
a code for tokens with the client secret, and verifies ID tokens with joserfc (Authlib's
JOSE library): signature against the provider's keys (RS/ES/PS algorithms only; never
``none`` nor a shared secret), ``iss`` equal to the discovery document's issuer, ``aud``
holding the client id (and ``azp`` naming it when there are several audiences), ``exp``
and ``iat`` (a minute of leeway) and, for the browser flow, ``nonce``.

:class:`LoginState` is the browser flow's short-lived state: state, nonce, PKCE verifier
and where to go afterwards, kept in a signed (HMAC-SHA256), HttpOnly cookie rather than on
the server, so any replica can finish a login another one began. Its key derives from the
client secret, which every replica shares. A state is accepted once per process.

Every refusal is :class:`~windlass.exceptions.Unauthenticated` with a ``reason`` in its
details (``state``, ``code``, ``signature``, ``issuer``, ``audience``, ``expired``,
``nonce``, ...); a provider out of reach is :class:`~windlass.exceptions.ProviderError`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from windlass import config
from windlass.exceptions import ConfigError, InvalidInput, NotFound, ProviderError, Unauthenticated

if TYPE_CHECKING:
    import httpx
    from joserfc.jwk import KeySet

__all__ = [
    "LoginState",
    "RelyingParty",
    "check_settings",
    "relying_party_from_settings",
    "safe_next",
]

#: Algorithms an ID token may be signed with: asymmetric only.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
#: How long the discovery document and the keys are trusted before they are read again.
CACHE_SECONDS = 3600.0
#: The least time between two reads of the keys for a token naming an unknown key id.
KEY_REFRESH_SECONDS = 60.0
#: How long a browser login may take between /login and /callback.
STATE_SECONDS = 600
#: Clock skew tolerated on ``exp`` and ``iat``.
LEEWAY_SECONDS = 60
#: The longest ID token accepted (bytes).
MAX_ID_TOKEN = 16 * 1024
_MAX_NEXT = 2048
_MAX_USED_STATES = 10_000


def _refused(message: str, reason: str) -> Unauthenticated:
    return Unauthenticated(f"OIDC login refused: {message}", reason=reason)


def safe_next(target: str | None) -> str:
    """Return ``target`` if it is a path of this server (same origin), ``/`` if absent.

    Anything else (``//host``, ``https://…``, a backslash, a control character) is
    InvalidInput: a login never redirects off the server.
    """
    if target is None or target == "":
        return "/"
    if (
        len(target) > _MAX_NEXT
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target)
    ):
        raise InvalidInput(
            "next must be a path on this server (starting with one '/')", next=target[:200]
        )
    return target


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class LoginState:
    """What the browser flow keeps between ``/login`` and ``/callback``."""

    state: str
    nonce: str
    verifier: str
    next: str
    expires: float

    @classmethod
    def new(cls, next_path: str) -> LoginState:
        """Return a fresh state: random state, nonce and PKCE verifier, ten minutes to live."""
        return cls(
            secrets.token_urlsafe(32),
            secrets.token_urlsafe(32),
            secrets.token_urlsafe(48),
            next_path,
            time.time() + STATE_SECONDS,
        )

    def seal(self, key: bytes) -> str:
        """Return the cookie value: the state as JSON, signed with ``key``."""
        fields = {"s": self.state, "n": self.nonce, "v": self.verifier, "r": self.next}
        body = _b64(json.dumps({**fields, "e": self.expires}).encode())
        return f"{body}.{_b64(hmac.new(key, body.encode(), hashlib.sha256).digest())}"

    @classmethod
    def open(cls, cookie: str | None, key: bytes) -> LoginState:
        """Return the state a cookie holds, or raise Unauthenticated (absent, forged, expired)."""
        if not cookie or len(cookie) > 4096:
            raise _refused("no login in progress (the state cookie is missing)", "state")
        body, _, signature = cookie.partition(".")
        expected = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(signature, expected):
            raise _refused("the state cookie is not one this server signed", "state")
        try:
            data = json.loads(_unb64(body))
            found = cls(data["s"], data["n"], data["v"], data["r"], float(data["e"]))
        except (ValueError, KeyError, TypeError):
            raise _refused("the state cookie is damaged", "state") from None
        if found.expires < time.time():
            raise _refused("the login took too long; start again", "state")
        return found


class RelyingParty:
    """windlass as a client of one OpenID Connect provider."""

    def __init__(
        self,
        discovery_url: str,
        client_id: str,
        client_secret: str | None = None,
        *,
        scopes: str = "openid",
        timeout: float = 10.0,
    ) -> None:
        self.discovery_url = discovery_url
        self.client_id = client_id
        self._client_secret = client_secret
        self.scopes = scopes
        # Imported here: httpx (with its command line's click and rich) costs a server's start
        # a fifth of a second, and only a server with OIDC on needs it.
        import httpx

        self._http: httpx.Client = httpx.Client(timeout=timeout, follow_redirects=False)
        self._lock = threading.Lock()
        self._metadata: tuple[float, dict[str, Any]] | None = None
        self._keys: tuple[float, KeySet] | None = None
        #: When a token naming an unknown key last made the keys be read again (monotonic).
        self._forced_at = -float(KEY_REFRESH_SECONDS)
        # Without a client secret (a public client) a per-process key signs the state:
        # then a login must end at the replica it began at.
        seed = client_secret.encode() if client_secret else secrets.token_bytes(32)
        self.state_key = hashlib.sha256(b"windlass-oidc-state\0" + seed).digest()
        self._used: OrderedDict[str, float] = OrderedDict()

    def __repr__(self) -> str:
        return f"RelyingParty({self.discovery_url!r}, client_id={self.client_id!r})"

    def close(self) -> None:
        """Close the HTTP connections to the provider."""
        self._http.close()

    # -- the provider's documents -------------------------------------------------------------
    def _get_json(self, url: str, what: str) -> dict[str, Any]:
        import httpx

        try:
            answer = self._http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise ProviderError(f"the OIDC provider's {what} is out of reach: {exc}") from None
        if answer.status_code != 200:
            raise ProviderError(f"the OIDC provider's {what} answered {answer.status_code}")
        try:
            body = answer.json()
        except ValueError:
            raise ProviderError(f"the OIDC provider's {what} is not JSON") from None
        if not isinstance(body, dict):
            raise ProviderError(f"the OIDC provider's {what} is not a JSON object")
        return body

    def metadata(self) -> dict[str, Any]:
        """Return the provider's discovery document (cached for an hour)."""
        with self._lock:
            if self._metadata is not None and self._metadata[0] > time.monotonic():
                return self._metadata[1]
        found = self._get_json(self.discovery_url, "discovery document")
        needed = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
        missing = [key for key in needed if not isinstance(found.get(key), str)]
        if missing:
            raise ProviderError(f"the OIDC discovery document lacks {', '.join(missing)}")
        with self._lock:
            self._metadata = (time.monotonic() + CACHE_SECONDS, found)
        return found

    def _key_set(self, *, refresh: bool = False) -> KeySet:
        from joserfc.errors import JoseError
        from joserfc.jwk import KeySet

        with self._lock:
            if not refresh and self._keys is not None and self._keys[0] > time.monotonic():
                return self._keys[1]
        document = self._get_json(self.metadata()["jwks_uri"], "key set (JWKS)")
        try:
            keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise ProviderError(f"the OIDC provider's key set is not valid: {exc}") from None
        with self._lock:
            self._keys = (time.monotonic() + CACHE_SECONDS, keys)
        return keys

    # -- the browser flow ---------------------------------------------------------------------
    def authorization_url(self, redirect_uri: str, login: LoginState) -> str:
        """Return the provider URL a browser goes to: code flow, PKCE S256, state and nonce."""
        # Imported here: Authlib and joserfc cost a third of a second, paid at the first login.
        from authlib.oauth2.rfc7636 import create_s256_code_challenge

        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": self.scopes,
            "state": login.state,
            "nonce": login.nonce,
            "code_challenge": create_s256_code_challenge(login.verifier),
            "code_challenge_method": "S256",
        }
        endpoint: str = self.metadata()["authorization_endpoint"]
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}"

    def accept_state(self, login: LoginState, state: str | None) -> None:
        """Check the callback's ``state`` against the cookie's, once per state and process."""
        if not state or not hmac.compare_digest(state.encode(), login.state.encode()):
            raise _refused("the state does not match this browser's login", "state")
        now = time.time()
        with self._lock:
            while self._used and next(iter(self._used.values())) < now:
                self._used.popitem(last=False)
            if login.state in self._used:
                raise _refused("this login was already completed", "state")
            self._used[login.state] = login.expires
            while len(self._used) > _MAX_USED_STATES:
                self._used.popitem(last=False)

    def exchange_code(self, code: str, redirect_uri: str, verifier: str) -> str:
        """Return the ID token the provider gives for an authorization code (with PKCE)."""
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
            "client_id": self.client_id,
        }
        import httpx

        extra: dict[str, Any] = {}
        if self._client_secret:  # client_secret_basic
            extra["auth"] = httpx.BasicAuth(self.client_id, self._client_secret)
        try:
            answer = self._http.post(
                self.metadata()["token_endpoint"],
                data=data,
                headers={"Accept": "application/json"},
                **extra,
            )
        except httpx.HTTPError as exc:
            raise ProviderError(f"the OIDC token endpoint is out of reach: {exc}") from None
        if answer.status_code in (400, 401):
            raise _refused("the provider refused the authorization code", "code")
        if answer.status_code != 200:
            raise ProviderError(f"the OIDC token endpoint answered {answer.status_code}")
        try:
            id_token = answer.json().get("id_token")
        except (ValueError, AttributeError):
            raise ProviderError("the OIDC token endpoint's answer is not a JSON object") from None
        if not isinstance(id_token, str):
            raise ProviderError("the OIDC token endpoint sent no id_token (is 'openid' a scope?)")
        return id_token

    # -- ID tokens ----------------------------------------------------------------------------
    def verify_id_token(self, id_token: str, *, nonce: str | None = None) -> dict[str, Any]:
        """Return the claims of an ID token this provider signed for this client.

        ``nonce``: the browser flow's, which the token must carry (None: not checked, the
        token exchange, whose tokens come from flows windlass did not start).
        """
        from joserfc import jwt
        from joserfc.errors import (
            ExpiredTokenError,
            InvalidClaimError,
            InvalidKeyIdError,
            InvalidTokenError,
            JoseError,
            MissingClaimError,
        )

        if not isinstance(id_token, str) or not 0 < len(id_token) <= MAX_ID_TOKEN:
            raise _refused(f"an ID token is 1 to {MAX_ID_TOKEN} characters", "malformed")
        keys = self._key_set()
        try:
            token = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
        except InvalidKeyIdError as exc:
            # The provider may have rotated its keys: read them again, at most once a minute
            # (a flood of tokens naming unknown keys must not become a flood of fetches).
            if not self._may_refresh_keys():
                raise self._bad_signature(exc) from None
            try:
                token = jwt.decode(id_token, self._key_set(refresh=True), algorithms=ALGORITHMS)
            except (ValueError, JoseError) as again:
                raise self._bad_signature(again) from None
        except (ValueError, JoseError) as exc:
            raise self._bad_signature(exc) from None
        claims: dict[str, Any] = dict(token.claims)
        issuer = self.metadata()["issuer"]
        registry = jwt.JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": issuer},
            sub={"essential": True},
            aud={"essential": True, "value": self.client_id},
            exp={"essential": True},
            iat={"essential": True},
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError:
            raise _refused("the ID token has expired", "expired") from None
        except (MissingClaimError, InvalidClaimError) as exc:
            name = str(getattr(exc, "claim", "") or exc)
            for claim, reason in (("iss", "issuer"), ("aud", "audience")):
                if claim in name:
                    raise _refused(f"the ID token's {claim} is wrong", reason) from None
            raise _refused(f"the ID token's claims are not valid ({exc})", "claims") from None
        except (InvalidTokenError, JoseError) as exc:
            raise _refused(f"the ID token is not valid ({exc})", "claims") from None
        if claims["iat"] > time.time() + LEEWAY_SECONDS:
            raise _refused("the ID token was issued in the future", "claims")
        audience = claims["aud"]
        if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != self.client_id:
            raise _refused("the ID token names several audiences but not us as azp", "audience")
        if nonce is not None and not hmac.compare_digest(
            str(claims.get("nonce", "")).encode(), nonce.encode()
        ):
            raise _refused("the ID token's nonce is not this login's", "nonce")
        return claims

    def _may_refresh_keys(self) -> bool:
        """Return whether an unknown key id may make the keys be read again now.

        At most once a minute: the first token signed with a rotated key is accepted at
        once, however recently the keys were read, and a flood of made-up key ids costs one
        fetch a minute.
        """
        now = time.monotonic()
        with self._lock:
            if now - self._forced_at <= KEY_REFRESH_SECONDS:
                return False
            self._forced_at = now
        return True

    @staticmethod
    def _bad_signature(exc: Exception) -> Unauthenticated:
        return _refused(f"the ID token's signature is not valid ({exc})", "signature")


def check_settings() -> None:
    """Raise ConfigError for a bad OIDC setting (with OIDC on), naming it: done at start."""
    settings = config.settings
    if settings.oidc_discovery_url is None:
        return
    if not (settings.oidc_client_id or "").strip():
        raise ConfigError(
            "WINDLASS_OIDC_DISCOVERY_URL is set but WINDLASS_OIDC_CLIENT_ID is not",
            setting="WINDLASS_OIDC_CLIENT_ID",
        )
    for value in (
        settings.oidc_redirect_url,
        settings.oidc_username_claim,
        settings.oidc_role_claim,
        settings.oidc_roles,
        settings.oidc_token_seconds,
    ):
        del value  # reading each is the check


_PARTIES: dict[tuple[str, str, str | None, str], RelyingParty] = {}
_PARTIES_LOCK = threading.Lock()


def relying_party_from_settings() -> RelyingParty:
    """Return the relying party the OIDC settings describe (one per set of their values).

    NotFound when ``WINDLASS_OIDC_DISCOVERY_URL`` is unset (OIDC off); ConfigError without
    ``WINDLASS_OIDC_CLIENT_ID``.
    """
    settings = config.settings
    url = settings.oidc_discovery_url
    if url is None:
        raise NotFound(
            "OIDC login is not configured on this server (WINDLASS_OIDC_DISCOVERY_URL)",
            setting="WINDLASS_OIDC_DISCOVERY_URL",
        )
    client_id = (settings.oidc_client_id or "").strip()
    if not client_id:
        raise ConfigError(
            "WINDLASS_OIDC_DISCOVERY_URL is set but WINDLASS_OIDC_CLIENT_ID is not",
            setting="WINDLASS_OIDC_CLIENT_ID",
        )
    key = (url, client_id, settings.oidc_client_secret, settings.oidc_scopes)
    with _PARTIES_LOCK:
        party = _PARTIES.get(key)
        if party is None:
            party = RelyingParty(url, client_id, key[2] or None, scopes=key[3])
            _PARTIES[key] = party
        return party
