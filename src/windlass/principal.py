"""Who is calling: the principal every write is recorded against.

A :class:`Principal` is resolved once, at the edge: the embedded SDK from ``WINDLASS_USER``
or the OS login of the calling process, the server from the request (for now a local,
unauthenticated principal named by the server's settings; the auth issue adds tokens).
It is never taken from a request body or a file. Domain services take it as an argument
and record its name on every mutation; permission checks and the audit log plug in there.
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


@dataclass(frozen=True)
class Principal:
    """The caller of a domain operation: a name, whether a user or a service, and how known."""

    name: str
    kind: PrincipalKind = PrincipalKind.USER
    auth: AuthMethod = AuthMethod.LOCAL

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
