"""Who is calling: the principal every write is recorded against.

A :class:`Principal` is resolved once, at the edge: the embedded SDK from ``WINDLASS_USER``
or the OS login of the calling process (or from ``WINDLASS_TOKEN`` checked against the store
when auth is on), the server from the request (a verified bearer token when auth is on,
else a local, unauthenticated principal named by the server's settings). It is never taken
from a request body or a file. Domain services take it as an argument, record its name on
every mutation, and ask :mod:`windlass.access.policy` whether it may act.

An authenticated principal carries what the policy needs, resolved when its token was
checked: its user id, whether it is a server admin, its role in each project it is a member
of, and the project and role its token is scoped to (a cap on those roles).
"""

from __future__ import annotations

import getpass
import re
from dataclasses import dataclass
from enum import StrEnum

from windlass import config
from windlass.exceptions import ConfigError

#: The longest principal name stored.
MAX_PRINCIPAL_NAME = 256
_NAME = re.compile(r"[^\x00-\x1f\x7f]{1,256}")


class PrincipalKind(StrEnum):
    """A person or a service account."""

    USER = "user"
    SERVICE = "service"


class AuthMethod(StrEnum):
    """How the principal's identity was established."""

    #: Not authenticated: named by the environment of the embedded SDK or the server's settings.
    LOCAL = "local"
    #: A bearer token the server checked (the auth issue).
    TOKEN = "token"  # noqa: S105 - a method name, not a secret
    #: A password the server checked (the auth issue).
    PASSWORD = "password"  # noqa: S105 - a method name, not a secret
    #: An OpenID Connect login (the auth issue).
    OIDC = "oidc"


class Role(StrEnum):
    """A principal's role in one project; each role holds the permissions of those below it.

    viewer reads; editor also writes (runs, models, versions, prompts, traces); admin also
    deletes, moves protected aliases, changes deployment weights and manages members.
    """

    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """Return 0 for viewer, 1 for editor, 2 for admin."""
        return _RANKS[self]

    # Roles compare by rank, not as strings ("admin" < "viewer" alphabetically).
    def __lt__(self, other: object) -> bool:
        return self.rank < other.rank if isinstance(other, Role) else NotImplemented

    def __le__(self, other: object) -> bool:
        return self.rank <= other.rank if isinstance(other, Role) else NotImplemented

    def __gt__(self, other: object) -> bool:
        return self.rank > other.rank if isinstance(other, Role) else NotImplemented

    def __ge__(self, other: object) -> bool:
        return self.rank >= other.rank if isinstance(other, Role) else NotImplemented

    __hash__ = str.__hash__


_RANKS = {Role.VIEWER: 0, Role.EDITOR: 1, Role.ADMIN: 2}


@dataclass(frozen=True)
class Principal:
    """The caller of a domain operation: a name, whether a user or a service, and how known.

    ``user_id``, ``admin``, ``roles`` and ``scope`` are set only for an authenticated
    principal (by the server or the embedded SDK from a checked token): ``roles`` pairs
    project ids with the principal's role there, ``admin`` makes it a server admin (admin of
    every project, manager of users and projects), and ``scope`` is the ``(project_id,
    role)`` a token is limited to. ``address`` is where the request came from (audit only).
    ``expires_at`` is when the credential it was resolved from stops working (UTC
    milliseconds; None: never, or not known), so whoever caches it caches no longer.
    """

    name: str
    kind: PrincipalKind = PrincipalKind.USER
    auth: AuthMethod = AuthMethod.LOCAL
    user_id: str | None = None
    admin: bool = False
    roles: tuple[tuple[str, Role], ...] = ()
    scope: tuple[str, Role] | None = None
    address: str | None = None
    expires_at: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise ConfigError(
                f"a principal name must be 1 to {MAX_PRINCIPAL_NAME} printable characters, "
                f"got {self.name!r:.80}"
            )

    @property
    def authenticated(self) -> bool:
        """Whether a server checked this identity (False for a local principal)."""
        return self.auth is not AuthMethod.LOCAL

    def role_in(self, project_id: str) -> Role | None:
        """Return this principal's role in a project (None: no access), its token scope applied.

        A server admin is admin of every project; a token scoped to a project gives no role
        in any other, and at most its scoped role in that one.
        """
        role: Role | None = Role.ADMIN if self.admin else dict(self.roles).get(project_id)
        if self.scope is not None:
            scoped_project, scoped_role = self.scope
            if scoped_project != project_id or role is None:
                return None
            role = min(role, scoped_role)
        return role

    @property
    def server_admin(self) -> bool:
        """Whether this principal may manage users and projects (a token scope removes it)."""
        return self.admin and self.scope is None

    def to_dict(self) -> dict[str, str]:
        """Return a JSON-ready dict."""
        return {"name": self.name, "kind": self.kind.value, "auth": self.auth.value}


def local_principal() -> Principal:
    """Return the embedded SDK's principal: ``WINDLASS_USER``, the OS login, or ``unknown``."""
    name = (config.settings.user or "").strip()
    if name:
        return Principal(name)
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER variables
        login = ""
    return Principal(login or "unknown")


def server_principal() -> Principal:
    """Return the principal a server without authentication acts as: ``WINDLASS_SERVER_USER``."""
    name = (config.settings.server_user or "").strip() or "anonymous"
    return Principal(name)
