"""The tracking store's API tokens, accepted by a model server (``windlass serve --auth store``).

A model server that loads its model from a metadata store accepts the same tokens as that
store's tracking server: a SQL store is asked directly (:meth:`Identity.authenticate
<windlass.access.identity.Identity.authenticate>`), a windlass server through ``GET
/api/v1/whoami`` with the presented token. A token passes when its principal may READ the
project of the served model or deployment (viewer, editor, admin, or a server admin); a
valid token without that role, or one scoped to another project, is refused with
:class:`~windlass.exceptions.PermissionDenied` (403).

The request path stays cheap: a verdict is cached for ``WINDLASS_AUTH_CACHE_SECONDS``
(0: no cache), never past the token's expiry (the principal's ``expires_at``), under a
keyed BLAKE2s digest of the ``Authorization`` header (a secret made fresh for each
process, as :mod:`windlass.server.api_keys` does), so a cached token costs one digest and
one dict lookup. The cache is bounded; a revoked token stops working here
within the cache's lifetime. Only a miss reaches the store, in a worker thread so the
event loop never waits on it.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio.to_thread

from windlass import config
from windlass.exceptions import ConfigError, PermissionDenied, Unauthenticated
from windlass.ids import now_ms
from windlass.principal import Principal

if TYPE_CHECKING:
    from windlass.entities import Project
    from windlass.store.metadata import MetadataStore

__all__ = ["MAX_CACHED", "ServerWhoAmI", "StoreTokens", "served_project", "store_tokens_for"]

MAX_CACHED = 10_000
"""Most verdicts kept: a flood of distinct tokens must not grow memory."""

Verify = Callable[[str], Principal]
"""Return the principal of a token secret, or raise Unauthenticated (may block)."""


class StoreTokens:
    """Accept the bearer tokens of principals who may read one project of a store.

    ``verify`` turns a token's secret into its principal (raising
    :class:`~windlass.exceptions.Unauthenticated` for a bad one); ``project_id`` is the
    project of what the server serves; ``project`` its name, for messages.
    """

    def __init__(
        self,
        verify: Verify,
        project_id: str,
        project: str,
        *,
        cache_seconds: float | None = None,
    ) -> None:
        self._verify = verify
        self.project_id = project_id
        self.project = project
        self._cache_seconds: float = (
            config.settings.auth_cache_seconds if cache_seconds is None else cache_seconds
        )
        self._secret = secrets.token_bytes(32)
        # digest -> (monotonic deadline, whether the token may score)
        self._cache: dict[bytes, tuple[float, bool]] = {}
        self._lock = threading.Lock()

    def _digest(self, header: bytes) -> bytes:
        return hashlib.blake2s(header, key=self._secret).digest()

    def __call__(self, header: bytes | None) -> bool:
        """Return whether ``header`` is a token verified recently and allowed (cache only)."""
        if header is None:
            return False
        entry = self._cache.get(self._digest(header))
        return entry is not None and entry[1] and entry[0] > time.monotonic()

    async def verify(self, header: bytes) -> bool:
        """Return whether ``header``'s token may score here, asking the store on a miss.

        Returns False for a malformed, unknown, expired or revoked token; raises
        :class:`~windlass.exceptions.PermissionDenied` for a valid token without a role in
        the served project.
        """
        digest = self._digest(header)
        entry = self._cache.get(digest)
        if entry is not None and entry[0] > time.monotonic():
            allowed = entry[1]
        else:
            secret = _bearer_secret(header)
            if secret is None:
                return False
            try:
                principal = await anyio.to_thread.run_sync(self._verify, secret)
            except Unauthenticated:
                return False
            allowed = principal.role_in(self.project_id) is not None
            self._remember(digest, allowed, principal.expires_at)
        if not allowed:
            raise PermissionDenied(
                f"this token gives no role in project {self.project!r}, whose model this "
                "server serves (a viewer's token of that project is enough to score)",
                project=self.project,
            )
        return True

    def _remember(self, digest: bytes, allowed: bool, expires_at: int | None) -> None:
        """Cache a verdict for the cache's lifetime, never past the token's expiry."""
        lifetime = self._cache_seconds
        if expires_at is not None:
            lifetime = min(lifetime, (expires_at - now_ms()) / 1000)
        if lifetime <= 0:
            return
        with self._lock:
            if len(self._cache) >= MAX_CACHED:
                self._cache.clear()
            self._cache[digest] = (time.monotonic() + lifetime, allowed)


def _bearer_secret(header: bytes) -> str | None:
    """Return the token of ``Bearer <token>`` (any case, any spacing), else None."""
    scheme, _, value = header.strip().partition(b" ")
    token = value.strip()
    if scheme.lower() != b"bearer" or not token or not token.isascii():
        return None
    return token.decode("ascii")


class ServerWhoAmI:
    """``verify`` for a windlass server: its ``GET /api/v1/whoami`` with the given token."""

    def __init__(self, base_url: str) -> None:
        import httpx

        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(
            base_url=self.base_url, timeout=config.settings.http_timeout_seconds
        )

    def __call__(self, secret: str) -> Principal:
        """Return the principal the server takes ``secret`` for; raise Unauthenticated if none."""
        import httpx

        from windlass.exceptions import BackendUnavailable
        from windlass.store.rest.identity import principal_from_whoami

        try:
            response = self._client.get(
                "/api/v1/whoami", headers={"authorization": f"Bearer {secret}"}
            )
        except httpx.TransportError as exc:
            raise BackendUnavailable(
                f"cannot reach the windlass server at {self.base_url} to check a token: "
                f"{type(exc).__name__}",
                url=self.base_url,
            ) from None
        if response.status_code == 401:
            raise Unauthenticated("invalid or expired credentials")
        if response.status_code != 200:
            # The tracking server's answer (a 429, a 5xx) says nothing about the token.
            raise BackendUnavailable(
                f"the windlass server at {self.base_url} answered {response.status_code} to a "
                "token check",
                url=self.base_url,
            )
        return principal_from_whoami(response.json())

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()


def served_project(store: MetadataStore, model_uri: str) -> Project:
    """Return the project of what ``model_uri`` serves (models:/, runs:/ or deployments:/)."""
    from windlass.uris import parse_object_uri

    parsed = parse_object_uri(model_uri)
    if parsed.kind == "runs":
        return store.runs.get_project(store.runs.get_run(parsed.name).project_id)
    return store.runs.get_project(parsed.project or config.settings.project)


def store_tokens_for(model_uri: str, tracking_uri: str | None = None) -> StoreTokens:
    """Return the tokens of the store ``model_uri`` is loaded from, for its project.

    ``tracking_uri``: the store (default ``WINDLASS_TRACKING_URI``, else the embedded one):
    a SQL store is asked through :class:`~windlass.access.identity.Identity`, a windlass
    server through :class:`ServerWhoAmI`. A model folder has no store: ConfigError.
    """
    from windlass.uris import StoreKind, store_kind

    if not model_uri.startswith(("models:/", "runs:/", "deployments:/")):
        raise ConfigError(
            f"--auth store checks tokens against the store a model is loaded from; "
            f"{model_uri!r} is a folder: serve it with --auth token --api-key-file"
        )
    uri = tracking_uri or config.settings.tracking_uri or config.default_store_uri()
    verify: Verify
    if store_kind(uri) is StoreKind.REST:
        from windlass.store.rest.store import RestStore

        rest = RestStore(uri)
        try:
            project = served_project(rest, model_uri)
        finally:
            rest.close()
        verify = ServerWhoAmI(uri)
    else:
        from windlass.access.identity import Identity
        from windlass.access.policy import Policy
        from windlass.tracking.backend import open_tracking

        store = open_tracking(uri).store  # the store used directly: its tokens table
        project = served_project(store, model_uri)
        verify = Identity(store, Policy(enabled=True)).authenticate
    return StoreTokens(verify, project.id, project.name)
