"""The identity operations of a windlass server, called over its REST API.

What :class:`~windlass.access.identity.Identity` offers a face, for a client of a server:
the server checks every call against the caller's bearer token, so the ``principal``
arguments are accepted for the same signature and ignored (the token speaks instead).
The CLI calls these when ``--uri`` names a server.
"""

from __future__ import annotations

from typing import Any

from windlass.entities import Page
from windlass.entities.access import ApiToken, Member, User
from windlass.ids import new_id
from windlass.principal import AuthMethod, Principal, PrincipalKind, Role
from windlass.store.rest.access import (
    RestAccessStore,
    member_from_dict,
    token_from_dict,
    user_from_dict,
)
from windlass.store.rest.transport import RestTransport, segment


def principal_from_whoami(body: dict[str, Any]) -> Principal:
    """Return the principal a server's ``GET /api/v1/whoami`` answer describes."""
    scope = body.get("scope")
    return Principal(
        body["name"],
        PrincipalKind(body["kind"]),
        AuthMethod(body["auth"]),
        user_id=body.get("user_id"),
        admin=bool(body.get("admin")),
        roles=tuple((r["project_id"], Role(r["role"])) for r in body.get("roles", [])),
        scope=None if scope is None else (scope["project_id"], Role(scope["role"])),
        expires_at=body.get("expires_at"),
    )


class RestIdentity:
    """Users, tokens, members and ``whoami`` through a server's identity routes."""

    def __init__(self, http: RestTransport) -> None:
        self._http = http
        self._access = RestAccessStore(http)

    def whoami(self, principal: Principal) -> Principal:
        """Return who the server takes this client to be."""
        return principal_from_whoami(self._http.request("GET", "/api/v1/whoami"))

    def create_user(
        self,
        principal: Principal,
        name: str,
        *,
        admin: bool = False,
        password: str | None = None,
        bootstrap: bool = False,
    ) -> User:
        """Create a user (the server needs a server admin's token; no bootstrap over HTTP)."""
        body: dict[str, Any] = {"id": new_id(), "name": name, "admin": admin}
        if password is not None:
            body["password"] = password
        return user_from_dict(self._http.request("POST", "/api/v1/users", json=body))

    def enroll(
        self,
        principal: Principal,
        name: str,
        *,
        admin: bool = False,
        password: str | None = None,
        bootstrap: bool = False,
    ) -> tuple[User, ApiToken, str]:
        """Create a user and a first token of it; return both and the token's secret."""
        user = self.create_user(principal, name, admin=admin, password=password)
        token, secret = self.create_token(principal, name=f"{name[:200]}-first", user=name)
        return user, token, secret

    def list_users(
        self, principal: Principal, max_results: int = 100, page_token: str | None = None
    ) -> Page[User]:
        """Return users by name, one page at a time."""
        return self._access.list_users(max_results, page_token)

    def disable_user(self, principal: Principal, name: str) -> User:
        """Disable a user."""
        return self._update(name, disabled=True)

    def enable_user(self, principal: Principal, name: str) -> User:
        """Enable a user."""
        return self._update(name, disabled=False)

    def _update(self, name: str, **changes: bool) -> User:
        return user_from_dict(
            self._http.request("PATCH", f"/api/v1/users/{segment(name)}", json=changes)
        )

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
        """Make a token on the server; return its record and its secret (shown once)."""
        body: dict[str, Any] = {"name": name}
        for key, value in (
            ("expires_in_seconds", expires_in_seconds),
            ("project", project),
            ("role", None if role is None else str(role)),
            ("user", user),
        ):
            if value is not None:
                body[key] = value
        made = self._http.request("POST", "/api/v1/tokens", json=body)
        return token_from_dict(made["token"]), str(made["secret"])

    def list_tokens(self, principal: Principal) -> list[ApiToken]:
        """Return the tokens the server shows the caller."""
        return self._access.list_tokens()

    def revoke_token(self, principal: Principal, token_id: str) -> ApiToken:
        """Revoke a token."""
        return self._access.revoke_token(token_id, 0)

    def set_member(
        self, principal: Principal, project: str, user_name: str, role: Role | str
    ) -> Member:
        """Give a user a role in a project."""
        path = f"/api/v1/projects/{segment(project)}/members/{segment(user_name)}"
        return member_from_dict(self._http.request("PUT", path, json={"role": str(role)}))

    def remove_member(self, principal: Principal, project: str, user_name: str) -> None:
        """Remove a user from a project."""
        self._access.remove_member(project, user_name)

    def list_members(self, principal: Principal, project: str) -> list[Member]:
        """Return a project's members."""
        return self._access.list_members(project)
