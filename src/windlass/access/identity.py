"""Who is who: users, their API tokens, project members, and turning a token into a Principal.

:class:`Identity` is the domain service every face calls for identity: the server's routes
(``/api/v1/users``, ``/tokens``, ``/whoami``, ``/projects/{p}/members``), the CLI against a
store (``windlass users create`` bootstraps the first admin there), and the embedded SDK
with ``WINDLASS_AUTH=on`` (its principal is :meth:`Identity.authenticate` of
``WINDLASS_TOKEN``). Every operation asks the :class:`~windlass.access.policy.Policy` first.

A verified principal is cached by token digest for ``WINDLASS_AUTH_CACHE_SECONDS``
(default 5; 0: no cache), so a busy client costs one lookup every few seconds; revoking a
token, disabling a user and changing members clear the cache of this process at once
(other worker processes notice within the cache's lifetime).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import replace

from windlass import config
from windlass.access import actions, credentials
from windlass.access.gate import AuditSink
from windlass.access.policy import Permission, Policy
from windlass.entities import Page, Project
from windlass.entities.access import ApiToken, Member, User
from windlass.exceptions import (
    InvalidInput,
    NotFound,
    PermissionDenied,
    ProjectNotFound,
    Unauthenticated,
)
from windlass.ids import is_id, new_id, now_ms
from windlass.principal import AuthMethod, Principal, PrincipalKind, Role
from windlass.store.metadata import MetadataStore

#: The name of the token an OIDC browser login mints for its session cookie; signing out
#: revokes it (:meth:`Identity.end_session`).
BROWSER_SESSION_TOKEN = "oidc-browser"  # noqa: S105 - a token's name, not a secret

__all__ = [
    "ANONYMOUS",
    "BAD_CREDENTIALS",
    "BROWSER_SESSION_TOKEN",
    "UNKNOWN_TOKEN_URI",
    "Identity",
    "check_user_name",
]

#: The one message of every failed authentication: it never says what was wrong.
BAD_CREDENTIALS = "invalid or expired credentials"
#: Who a failed authentication naming no user is recorded against.
ANONYMOUS = "anonymous"
#: The object URI of a failed authentication with a token the store does not know.
UNKNOWN_TOKEN_URI = "tokens:/?"  # noqa: S105 - an object URI, not a secret

_USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@\-]{0,255}$")
_TOKEN_NAME = re.compile(r"^[^\x00-\x1f\x7f]{1,256}$")
#: The longest token lifetime accepted (ten years).
MAX_EXPIRES_SECONDS = 10 * 366 * 24 * 3600


def check_user_name(name: str) -> str:
    """Return ``name`` if it is a valid user name, else raise InvalidInput naming the rule."""
    if not isinstance(name, str) or not _USER_NAME.fullmatch(name):
        raise InvalidInput(
            f"invalid user name {name!r:.80}: use 1 to 256 letters, digits, '_', '.', '@' or "
            "'-', starting with a letter or digit",
            user=str(name)[:80],
        )
    return name


def _unauthenticated() -> Unauthenticated:
    return Unauthenticated(BAD_CREDENTIALS)


class Identity:
    """Users, tokens and members over a store, every operation checked by a policy."""

    def __init__(
        self, store: MetadataStore, policy: Policy, audit: AuditSink | None = None
    ) -> None:
        """``audit``: where each change of a user, token or member is recorded (None: nowhere)."""
        self.store = store
        self.policy = policy
        self.audit = audit
        self._cache_seconds: float = config.settings.auth_cache_seconds
        # digest -> (monotonic deadline, principal without address)
        self._cache: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def _record(
        self,
        principal: Principal,
        action: str,
        object_uri: str,
        *,
        project_id: str | None = None,
        before: object = None,
        after: object = None,
    ) -> None:
        if self.audit is not None:
            self.audit.record(
                principal, action, object_uri, project_id=project_id, before=before, after=after
            )

    # -- the cache -----------------------------------------------------------------------
    def clear_cache(self) -> None:
        """Forget every verified token (after a revocation, a disable, a member change)."""
        with self._lock:
            self._cache.clear()

    def cached_principal(self, secret: str, address: str | None = None) -> Principal | None:
        """Return the principal of ``secret`` if a recent :meth:`authenticate` verified it.

        No store access: None means "not known", never "refused"; then call
        :meth:`authenticate`, which decides (and audits a failure).
        """
        if self._cache_seconds <= 0 or not credentials.looks_like_token(secret):
            return None
        cached = self._cached(credentials.token_digest(secret))
        return None if cached is None else replace(cached, address=address)

    def _cached(self, digest: str) -> Principal | None:
        if self._cache_seconds <= 0:
            return None
        with self._lock:
            entry = self._cache.get(digest)
            if entry is None:
                return None
            if entry[0] <= time.monotonic():
                del self._cache[digest]
                return None
            return entry[1]

    def _remember(self, digest: str, principal: Principal, token: ApiToken) -> None:
        if self._cache_seconds <= 0:
            return
        lifetime = self._cache_seconds
        if token.expires_at is not None:  # never trust a token past its expiry
            lifetime = min(lifetime, (token.expires_at - now_ms()) / 1000)
        with self._lock:
            if len(self._cache) > 10_000:  # a flood of distinct tokens must not grow memory
                self._cache.clear()
            self._cache[digest] = (time.monotonic() + lifetime, principal)

    # -- authentication ------------------------------------------------------------------
    def _refused(
        self,
        method: AuthMethod,
        object_uri: str,
        reason: str,
        *,
        address: str | None,
        audit: bool,
        claimed: str | None = None,
    ) -> Unauthenticated:
        """Record one failed authentication (unless ``audit`` is False); return the error.

        The record names the user the credential claims (else ``anonymous``), the method
        tried and the reason; never the secret. The caller gets :data:`BAD_CREDENTIALS`
        whatever the reason.
        """
        if audit and self.audit is not None:
            who = Principal(claimed or ANONYMOUS, auth=method, address=address)
            self.audit.record(who, actions.AUTH_FAIL, object_uri, after={"reason": reason})
        return _unauthenticated()

    def authenticate(
        self, secret: str, address: str | None = None, *, audit_failure: bool = True
    ) -> Principal:
        """Return the principal of an API token, or raise Unauthenticated.

        A malformed, unknown, expired or revoked token, or one of a disabled user, raises
        the same error with the same message: nothing says which. Each failure appends one
        ``auth.fail`` audit record saying which (for admins), unless ``audit_failure`` is
        False: the server passes False once the source address is over its failure limit,
        so a flood of bad tokens cannot fill the trail.
        """
        if not credentials.looks_like_token(secret):
            raise self._refused(
                AuthMethod.TOKEN,
                UNKNOWN_TOKEN_URI,
                "malformed token",
                address=address,
                audit=audit_failure,
            )
        digest = credentials.token_digest(secret)
        cached = self._cached(digest)
        if cached is not None:
            return replace(cached, address=address)
        found = self.store.access.find_token(digest)
        if found is None:
            raise self._refused(
                AuthMethod.TOKEN,
                UNKNOWN_TOKEN_URI,
                "unknown token",
                address=address,
                audit=audit_failure,
            )
        token, user = found
        at = now_ms()
        if user.disabled or not token.active(at):
            reason = (
                "user disabled"
                if user.disabled
                else "token revoked"
                if token.revoked_at is not None
                else "token expired"
            )
            raise self._refused(
                AuthMethod.TOKEN,
                f"tokens:/{token.id}",
                reason,
                address=address,
                audit=audit_failure,
                claimed=user.name,
            )
        scope = (
            (token.scope_project_id, token.scope_role)
            if token.scope_project_id is not None and token.scope_role is not None
            else None
        )
        principal = Principal(
            user.name,
            PrincipalKind.USER,
            AuthMethod.TOKEN,
            user_id=user.id,
            admin=user.admin,
            roles=tuple(self.store.access.user_roles(user.id)),
            scope=scope,
            expires_at=token.expires_at,
        )
        self._remember(digest, principal, token)
        return replace(principal, address=address)

    def login(
        self, name: str, password: str, address: str | None = None, *, audit_failure: bool = True
    ) -> Principal:
        """Return the principal of a user's name and password, or raise Unauthenticated.

        Every failure raises the same error and, unless ``audit_failure`` is False, appends
        one ``auth.fail`` record against the name given (``anonymous`` when it cannot be a
        user's name, or looks like a pasted token).
        """
        if (
            not isinstance(name, str)
            or not _USER_NAME.fullmatch(name)
            or name.startswith(credentials.TOKEN_PREFIX)
        ):
            credentials.verify_password(None, password)  # as slow as a real check
            raise self._refused(
                AuthMethod.PASSWORD,
                "users:/?",
                "malformed user name",
                address=address,
                audit=audit_failure,
            )
        try:
            user, password_hash = self.store.access.password_hash(name)
        except NotFound:
            credentials.verify_password(None, password)  # as slow as a real check
            raise self._refused(
                AuthMethod.PASSWORD,
                f"users:/{name}",
                "unknown user",
                address=address,
                audit=audit_failure,
                claimed=name,
            ) from None
        if not credentials.verify_password(password_hash, password) or user.disabled:
            raise self._refused(
                AuthMethod.PASSWORD,
                f"users:/{user.name}",
                "user disabled" if user.disabled else "wrong password",
                address=address,
                audit=audit_failure,
                claimed=user.name,
            )
        return Principal(
            user.name,
            PrincipalKind.USER,
            AuthMethod.PASSWORD,
            user_id=user.id,
            admin=user.admin,
            roles=tuple(self.store.access.user_roles(user.id)),
            address=address,
        )

    # -- users ---------------------------------------------------------------------------
    def whoami(self, principal: Principal) -> Principal:
        """Return the caller as this service knows it (the principal itself)."""
        return principal

    def has_users(self) -> bool:
        """Whether any user exists (none: the store may be bootstrapped)."""
        return bool(self.store.access.list_users(1).items)

    def create_user(
        self,
        principal: Principal,
        name: str,
        *,
        admin: bool = False,
        password: str | None = None,
        bootstrap: bool = False,
        user_id: str | None = None,
    ) -> User:
        """Create a user (server admins only).

        ``bootstrap`` (direct store access only, never a server route): when no user exists
        yet, anyone may create the first user, which is always a server admin. ``user_id``:
        the writer's id for it (a retried create with the same id returns the user).
        """
        check_user_name(name)
        first = bootstrap and not self.has_users()
        if not first:
            self.policy.require(principal, Permission.SERVER_ADMIN)
        password_hash = None if password is None else credentials.hash_password(password)
        with self.store.transaction():
            user = self.store.access.create_user(
                user_id=user_id or new_id(),
                name=name,
                admin=admin or first,
                password_hash=password_hash,
                created_at=now_ms(),
            )
            self._record(
                principal, actions.USER_CREATE, f"users:/{user.name}", after=user.to_dict()
            )
        return user

    def enroll(
        self,
        principal: Principal,
        name: str,
        *,
        admin: bool = False,
        password: str | None = None,
        bootstrap: bool = False,
    ) -> tuple[User, ApiToken, str]:
        """Create a user and a first API token of it; return both and the token's secret.

        What ``windlass users create`` runs: against a store directly with ``bootstrap``
        (the first user of an empty store needs no credentials), or as a server admin.
        """
        with self.store.transaction():  # the user and its first token, or neither
            user = self.create_user(
                principal, name, admin=admin, password=password, bootstrap=bootstrap
            )
            as_user = Principal(user.name, auth=AuthMethod.TOKEN, user_id=user.id, admin=user.admin)
            token, secret = self.create_token(as_user, name=f"{user.name[:200]}-first")
        return user, token, secret

    def list_users(
        self, principal: Principal, max_results: int = 100, page_token: str | None = None
    ) -> Page[User]:
        """Return users by name, one page at a time (server admins only)."""
        self.policy.require(principal, Permission.SERVER_ADMIN)
        return self.store.access.list_users(max_results, page_token)

    def get_user(self, principal: Principal, name_or_id: str) -> User:
        """Return a user by name or id (server admins only)."""
        self.policy.require(principal, Permission.SERVER_ADMIN)
        return self._user(name_or_id)

    def update_user(
        self,
        principal: Principal,
        name_or_id: str,
        *,
        admin: bool | None = None,
        disabled: bool | None = None,
        password: str | None = None,
    ) -> User:
        """Change a user's admin flag, disabled flag or password (server admins only)."""
        self.policy.require(principal, Permission.SERVER_ADMIN)
        user = self._user(name_or_id)
        if principal.user_id == user.id and (disabled or admin is False):
            raise InvalidInput("a server admin cannot disable themself or drop their own admin")
        password_hash = None if password is None else credentials.hash_password(password)
        with self.store.transaction():
            updated = self.store.access.update_user(
                user.id, admin=admin, disabled=disabled, password_hash=password_hash
            )
            self.clear_cache()
            self._record(
                principal,
                actions.USER_UPDATE,
                f"users:/{user.name}",
                before=user.to_dict(),
                after={**updated.to_dict(), "password_changed": password is not None},
            )
        return updated

    def disable_user(self, principal: Principal, name: str) -> User:
        """Disable a user: its tokens and password stop working at once."""
        return self.update_user(principal, name, disabled=True)

    def enable_user(self, principal: Principal, name: str) -> User:
        """Enable a disabled user again."""
        return self.update_user(principal, name, disabled=False)

    def _user(self, name_or_id: str) -> User:
        try:
            return self.store.access.get_user_by_name(name_or_id)
        except NotFound:
            if is_id(name_or_id):
                return self.store.access.get_user(name_or_id)
            raise

    # -- tokens --------------------------------------------------------------------------
    def create_token(
        self,
        principal: Principal,
        *,
        name: str = "token",
        expires_in_seconds: int | None = None,
        project: str | None = None,
        role: Role | str | None = None,
        user: str | None = None,
    ) -> tuple[ApiToken, str]:
        """Make an API token; return its record and its secret (shown this once only).

        The token is the caller's own unless ``user`` names another user (server admins
        only). ``project`` and ``role`` scope it: at most ``role``, in that project only,
        and never more than the caller's own role there. A token made with a scoped token
        is scoped at least as tightly.
        """
        self.policy.require(principal, Permission.AUTHENTICATED)
        if not isinstance(name, str) or not _TOKEN_NAME.fullmatch(name):
            raise InvalidInput("a token name must be 1 to 256 printable characters")
        if expires_in_seconds is not None and not (
            isinstance(expires_in_seconds, int) and 0 < expires_in_seconds <= MAX_EXPIRES_SECONDS
        ):
            raise InvalidInput(
                f"expires_in_seconds must be a whole number from 1 to {MAX_EXPIRES_SECONDS}",
                expires_in_seconds=expires_in_seconds,
            )
        target = self._token_owner(principal, user)
        scope_project, scope_role = self._token_scope(principal, project, role)
        secret, digest, hint = credentials.new_token()
        at = now_ms()
        with self.store.transaction():
            token = self.store.access.create_token(
                token_id=new_id(),
                user_id=target.id,
                name=name,
                digest=digest,
                hint=hint,
                created_at=at,
                expires_at=None if expires_in_seconds is None else at + expires_in_seconds * 1000,
                scope_project_id=None if scope_project is None else scope_project.id,
                scope_role=scope_role,
            )
            self._record(
                principal,
                actions.TOKEN_CREATE,
                f"tokens:/{token.id}",
                project_id=token.scope_project_id,
                after=token.to_dict(),
            )
        return token, secret

    def _token_owner(self, principal: Principal, user: str | None) -> User:
        """Return the user a new token is for: the caller, or (server admins) ``user``."""
        if user is None or (principal.user_id is not None and user == principal.name):
            if principal.user_id is None:
                raise InvalidInput(
                    f"{principal.name!r} is not a windlass user: name the user the token is "
                    "for (user=...)"
                )
            return self.store.access.get_user(principal.user_id)
        self.policy.require(principal, Permission.SERVER_ADMIN)
        return self._user(user)

    def _token_scope(
        self, principal: Principal, project: str | None, role: Role | str | None
    ) -> tuple[Project | None, Role | None]:
        if (project is None) != (role is None):
            raise InvalidInput("a token scope needs both a project and a role")
        if project is None or role is None:
            if self.policy.enabled and principal.scope is not None:
                raise PermissionDenied(
                    "a project-scoped token can only make tokens scoped to its project"
                )
            return None, None
        try:
            scope_role = Role(role)
        except ValueError:
            raise InvalidInput(
                f"invalid role {role!r:.40}: use viewer, editor or admin", role=str(role)[:40]
            ) from None
        scoped = self.store.runs.get_project(project)
        if self.policy.enabled:
            held = principal.role_in(scoped.id)
            if held is None or held < scope_role:
                raise PermissionDenied(
                    f"a token's role may not exceed yours: you hold "
                    f"{'no role' if held is None else held.value} in project {scoped.name!r}",
                    role_needed=scope_role.value,
                )
        return scoped, scope_role

    def list_tokens(self, principal: Principal) -> list[ApiToken]:
        """Return the caller's tokens (server admins, and anyone with auth off: every token)."""
        self.policy.require(principal, Permission.AUTHENTICATED)
        if not self.policy.enabled or principal.server_admin:
            return self.store.access.list_tokens(None)
        return self.store.access.list_tokens(principal.user_id)

    def revoke_token(self, principal: Principal, token_id: str) -> ApiToken:
        """Revoke a token: the caller's own, or any (server admins). It stops working at once."""
        self.policy.require(principal, Permission.AUTHENTICATED)
        if self.policy.enabled and not principal.server_admin:
            own = {t.id for t in self.store.access.list_tokens(principal.user_id)}
            if token_id not in own:  # another user's token is as absent as a missing one
                raise NotFound(f"token {token_id!r} does not exist", token_id=token_id)
        with self.store.transaction():
            token = self.store.access.revoke_token(token_id, now_ms())
            self.clear_cache()
            self._record(
                principal, actions.TOKEN_REVOKE, f"tokens:/{token.id}", after=token.to_dict()
            )
        return token

    def end_session(self, secret: str, address: str | None = None) -> bool:
        """Sign a browser out: revoke ``secret`` if it is a token a browser sign-in minted.

        Only the token an OIDC browser login created for its session cookie is revoked
        (audited as ``token.revoke`` by its user); a token the user pasted into the sign-in
        page is their own credential and stays valid. Returns whether one was revoked.
        """
        if not credentials.looks_like_token(secret):
            return False
        found = self.store.access.find_token(credentials.token_digest(secret))
        if found is None:
            return False
        token, user = found
        if token.name != BROWSER_SESSION_TOKEN or not token.active(now_ms()):
            return False
        who = Principal(user.name, auth=AuthMethod.OIDC, user_id=user.id, address=address)
        with self.store.transaction():
            revoked = self.store.access.revoke_token(token.id, now_ms())
            self.clear_cache()
            self._record(who, actions.TOKEN_REVOKE, f"tokens:/{token.id}", after=revoked.to_dict())
        return True

    # -- members -------------------------------------------------------------------------
    def _project(self, principal: Principal, project: str, permission: Permission) -> Project:
        found = self.store.runs.get_project(project)
        hidden = ProjectNotFound(f"project {project!r} does not exist", project=project)
        self.policy.require(principal, permission, found.id, hidden=hidden)
        return found

    def set_member(
        self, principal: Principal, project: str, user_name: str, role: Role | str
    ) -> Member:
        """Give a user a role in a project (project admins)."""
        try:
            new_role = Role(role)
        except ValueError:
            raise InvalidInput(
                f"invalid role {role!r:.40}: use viewer, editor or admin", role=str(role)[:40]
            ) from None
        found = self._project(principal, project, Permission.ADMIN)
        user = self._user(user_name)
        before = {m.user_id: m for m in self.store.access.list_members(found.id)}.get(user.id)
        with self.store.transaction():
            member = self.store.access.set_member(found.id, user.id, new_role)
            self.clear_cache()
            self._record(
                principal,
                actions.MEMBER_SET,
                f"projects:/{found.name}/members/{user.name}",
                project_id=found.id,
                before=None if before is None else before.to_dict(),
                after=member.to_dict(),
            )
        return member

    def remove_member(self, principal: Principal, project: str, user_name: str) -> None:
        """Remove a user from a project (project admins)."""
        found = self._project(principal, project, Permission.ADMIN)
        user = self._user(user_name)
        with self.store.transaction():
            self.store.access.remove_member(found.id, user.id)
            self.clear_cache()
            self._record(
                principal,
                actions.MEMBER_REMOVE,
                f"projects:/{found.name}/members/{user.name}",
                project_id=found.id,
            )

    def list_members(self, principal: Principal, project: str) -> list[Member]:
        """Return a project's members by user name (project viewers)."""
        found = self._project(principal, project, Permission.READ)
        return self.store.access.list_members(found.id)
