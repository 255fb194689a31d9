"""The REST client's access store: users, tokens and members through the server's routes.

The server is the authority on identity: it hashes passwords and makes token secrets
itself, and authenticates tokens sent as bearer tokens. So the parts of
:class:`~windlass.store.access.AccessStore` that would carry a password hash or a token
digest over the wire (a password set through the store, :meth:`create_token` by digest,
:meth:`find_token`, :meth:`password_hash`) raise InvalidInput here: make tokens with
``POST /api/v1/tokens`` (the server returns the secret once) instead.
"""

from __future__ import annotations

from typing import Any

from windlass.entities import Page
from windlass.entities.access import ApiToken, Member, User
from windlass.exceptions import InvalidInput
from windlass.principal import Role
from windlass.store.access import AccessStore
from windlass.store.rest.transport import RestTransport, paging, segment

_SERVER_ONLY = (
    "{what} is not available through the REST client: the server keeps secrets and "
    "checks tokens itself (make tokens with POST /api/v1/tokens, send them as bearer tokens)"
)


def user_from_dict(data: dict[str, Any]) -> User:
    """Return the user of a REST answer."""
    return User(
        id=data["id"],
        name=data["name"],
        admin=bool(data["admin"]),
        disabled=bool(data["disabled"]),
        created_at=int(data["created_at"]),
        has_password=bool(data.get("has_password", False)),
        oidc_subject=data.get("oidc_subject"),
    )


def token_from_dict(data: dict[str, Any]) -> ApiToken:
    """Return the token record of a REST answer."""
    role = data.get("scope_role")
    return ApiToken(
        id=data["id"],
        user_id=data["user_id"],
        user_name=data["user_name"],
        name=data["name"],
        hint=data["hint"],
        created_at=int(data["created_at"]),
        expires_at=data.get("expires_at"),
        scope_project_id=data.get("scope_project_id"),
        scope_role=None if role is None else Role(role),
        revoked_at=data.get("revoked_at"),
    )


def member_from_dict(data: dict[str, Any]) -> Member:
    """Return the member of a REST answer."""
    return Member(data["project_id"], data["user_id"], data["user_name"], Role(data["role"]))


class RestAccessStore(AccessStore):
    """Users, tokens and members over the REST API."""

    def __init__(self, http: RestTransport) -> None:
        self._http = http

    # -- users ---------------------------------------------------------------------------
    def create_user(
        self,
        *,
        user_id: str,
        name: str,
        admin: bool,
        password_hash: str | None,
        created_at: int,
        oidc_subject: str | None = None,
    ) -> User:
        """Create a user on the server with this id (the time is the server's)."""
        if password_hash is not None:
            raise InvalidInput(_SERVER_ONLY.format(what="a password hash"))
        if oidc_subject is not None:
            raise InvalidInput(_SERVER_ONLY.format(what="an OIDC subject"))
        body = {"id": user_id, "name": name, "admin": admin}
        return user_from_dict(self._http.request("POST", "/api/v1/users", json=body))

    def get_user(self, user_id: str) -> User:
        """Return a user by id."""
        return user_from_dict(self._http.request("GET", f"/api/v1/users/{segment(user_id)}"))

    def get_user_by_name(self, name: str) -> User:
        """Return a user by name."""
        return user_from_dict(self._http.request("GET", f"/api/v1/users/{segment(name)}"))

    def list_users(self, max_results: int = 100, page_token: str | None = None) -> Page[User]:
        """Return users ordered by name, one page at a time."""
        body = self._http.request("GET", "/api/v1/users", params=paging(max_results, page_token))
        return Page([user_from_dict(u) for u in body["users"]], body.get("next_page_token"))

    def update_user(
        self,
        user_id: str,
        *,
        admin: bool | None = None,
        disabled: bool | None = None,
        password_hash: str | None = None,
    ) -> User:
        """Change a user's admin or disabled flag on the server."""
        if password_hash is not None:
            raise InvalidInput(_SERVER_ONLY.format(what="a password hash"))
        changes = {k: v for k, v in (("admin", admin), ("disabled", disabled)) if v is not None}
        return user_from_dict(
            self._http.request("PATCH", f"/api/v1/users/{segment(user_id)}", json=changes)
        )

    def password_hash(self, name: str) -> tuple[User, str | None]:
        """Not available over REST (InvalidInput)."""
        raise InvalidInput(_SERVER_ONLY.format(what="a password hash"))

    # -- tokens --------------------------------------------------------------------------
    def create_token(
        self,
        *,
        token_id: str,
        user_id: str,
        name: str,
        digest: str,
        hint: str,
        created_at: int,
        expires_at: int | None = None,
        scope_project_id: str | None = None,
        scope_role: Role | None = None,
    ) -> ApiToken:
        """Not available over REST (InvalidInput): the server makes token secrets."""
        raise InvalidInput(_SERVER_ONLY.format(what="storing a token by digest"))

    def find_token(self, digest: str) -> tuple[ApiToken, User] | None:
        """Not available over REST (InvalidInput): the server checks tokens."""
        raise InvalidInput(_SERVER_ONLY.format(what="looking a token up by digest"))

    def list_tokens(self, user_id: str | None = None) -> list[ApiToken]:
        """Return the tokens the server shows the caller (of one user, if given)."""
        tokens = [token_from_dict(t) for t in self._http.request("GET", "/api/v1/tokens")["tokens"]]
        return [t for t in tokens if user_id is None or t.user_id == user_id]

    def revoke_token(self, token_id: str, at: int) -> ApiToken:
        """Revoke a token on the server (the time is the server's)."""
        return token_from_dict(self._http.request("DELETE", f"/api/v1/tokens/{segment(token_id)}"))

    # -- members -------------------------------------------------------------------------
    @staticmethod
    def _members(project_id: str, user_id: str | None = None) -> str:
        path = f"/api/v1/projects/{segment(project_id)}/members"
        return path if user_id is None else f"{path}/{segment(user_id)}"

    def set_member(self, project_id: str, user_id: str, role: Role) -> Member:
        """Give a user a role in a project."""
        return member_from_dict(
            self._http.request("PUT", self._members(project_id, user_id), json={"role": role.value})
        )

    def remove_member(self, project_id: str, user_id: str) -> None:
        """Remove a user from a project."""
        self._http.request("DELETE", self._members(project_id, user_id))

    def list_members(self, project_id: str) -> list[Member]:
        """Return a project's members by user name."""
        return [
            member_from_dict(m)
            for m in self._http.request("GET", self._members(project_id))["members"]
        ]

    def user_roles(self, user_id: str) -> list[tuple[str, Role]]:
        """Return the user's ``(project_id, role)`` pairs."""
        body = self._http.request("GET", f"/api/v1/users/{segment(user_id)}")
        return [(r["project_id"], Role(r["role"])) for r in body.get("roles", [])]
