"""Plain data objects of identity: users, their API tokens, and project members.

No entity carries a secret: a token's secret is shown once when it is made and stored only
as a digest, which never leaves the store; a user's password hash never leaves it either
(``has_password`` says whether one is set).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from windlass.principal import Role


@dataclass(frozen=True)
class User:
    """A person or service account that may hold API tokens and project roles.

    ``admin`` makes the user a server admin (manager of users and projects, admin of every
    project); a ``disabled`` user's tokens and password stop working. ``oidc_subject``
    (``<issuer> <sub>``) links a user an OpenID Connect login created to that identity:
    only that identity signs in as it (its ``kind`` is ``oidc``; others are ``local``).
    """

    id: str
    name: str
    admin: bool
    disabled: bool
    created_at: int
    has_password: bool = False
    oidc_subject: str | None = None

    @property
    def kind(self) -> str:
        """Return ``oidc`` for a user an OIDC login created, ``local`` for any other."""
        return "local" if self.oidc_subject is None else "oidc"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "id": self.id,
            "name": self.name,
            "admin": self.admin,
            "disabled": self.disabled,
            "created_at": self.created_at,
            "has_password": self.has_password,
            "kind": self.kind,
            "oidc_subject": self.oidc_subject,
        }


@dataclass(frozen=True)
class ApiToken:
    """An API token's record: whose it is, when it expires, its scope; never its secret.

    ``hint`` is the secret's public start (``wl_`` and a few characters) so a user can
    tell their tokens apart. ``scope_project_id`` and ``scope_role`` cap what the token
    may do: at most that role, in that project only.
    """

    id: str
    user_id: str
    user_name: str
    name: str
    hint: str
    created_at: int
    expires_at: int | None = None
    scope_project_id: str | None = None
    scope_role: Role | None = None
    revoked_at: int | None = None

    def active(self, now: int) -> bool:
        """Whether the token is neither revoked nor expired at ``now`` (ms)."""
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "id": self.id,
            "user_id": self.user_id,
            "user_name": self.user_name,
            "name": self.name,
            "hint": self.hint,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "scope_project_id": self.scope_project_id,
            "scope_role": None if self.scope_role is None else self.scope_role.value,
            "revoked_at": self.revoked_at,
        }


@dataclass(frozen=True)
class Member:
    """A user's role in one project."""

    project_id: str
    user_id: str
    user_name: str
    role: Role

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "project_id": self.project_id,
            "user_id": self.user_id,
            "user_name": self.user_name,
            "role": self.role.value,
        }
