"""``/api/v1/users`` (server admins) and ``/api/v1/whoami`` (anyone authenticated)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from windlass.access.identity import Identity
from windlass.access.policy import Permission
from windlass.principal import Principal
from windlass.server.api.common import (
    Id,
    PageToken,
    RequestBody,
    ResponseBody,
    errors,
    requires,
)
from windlass.server.deps import PrincipalDep, identity

router = APIRouter(prefix="/api/v1", tags=["identity"])
IdentityDep = Annotated[Identity, Depends(identity)]
UserName = Annotated[str, Field(pattern="^[A-Za-z0-9][A-Za-z0-9_.@\\-]{0,255}$")]


class UserCreate(RequestBody):
    """A new user: its name, whether a server admin, and optionally a password (for the UI).

    ``id`` is the writer's (a retried create with the same id and name returns the user).
    """

    name: UserName
    id: Id | None = None
    admin: bool = False
    password: Annotated[str, Field(min_length=8, max_length=1024)] | None = None


class UserUpdate(RequestBody):
    """What to change of a user (absent: unchanged)."""

    admin: bool | None = None
    disabled: bool | None = None


class UserOut(ResponseBody):
    """A user; its password hash never leaves the server."""

    id: str
    name: str
    admin: bool
    disabled: bool
    created_at: int
    has_password: bool
    kind: str = Field("local", description="`oidc` for a user an OIDC login created")
    oidc_subject: str | None = Field(None, description="`<issuer> <sub>` of an OIDC user")


class UserPage(ResponseBody):
    """One page of users, by name."""

    users: list[UserOut]
    next_page_token: str | None = None


class RoleOut(ResponseBody):
    """A role in one project."""

    project_id: str
    role: str


class WhoAmI(ResponseBody):
    """Who the server takes the caller to be."""

    name: str
    kind: str
    auth: str
    user_id: str | None = None
    admin: bool
    roles: list[RoleOut]
    scope: RoleOut | None = None


def whoami_dict(principal: Principal) -> dict[str, Any]:
    """Return the ``/whoami`` answer for a principal."""
    scope = principal.scope
    return {
        **principal.to_dict(),
        "user_id": principal.user_id,
        "admin": principal.admin,
        "roles": [{"project_id": p, "role": r.value} for p, r in principal.roles],
        "scope": None if scope is None else {"project_id": scope[0], "role": scope[1].value},
    }


@router.get(
    "/whoami",
    response_model=WhoAmI,
    responses=errors(401, 429),
    **requires(Permission.AUTHENTICATED),
)
def whoami(principal: PrincipalDep, service: IdentityDep) -> dict[str, Any]:
    """Return the caller's identity: name, server admin or not, roles, token scope."""
    service.policy.require(principal, Permission.AUTHENTICATED)
    return whoami_dict(principal)


@router.get(
    "/users",
    response_model=UserPage,
    responses=errors(400, 401, 403, 429),
    **requires(Permission.SERVER_ADMIN),
)
def list_users(
    principal: PrincipalDep,
    service: IdentityDep,
    max_results: Annotated[int, Query(ge=1, le=1000)] = 100,
    page_token: PageToken = None,
) -> dict[str, Any]:
    """List users by name, one page at a time."""
    page = service.list_users(principal, max_results, page_token)
    return {"users": [u.to_dict() for u in page.items], "next_page_token": page.next_page_token}


@router.post(
    "/users",
    response_model=UserOut,
    responses=errors(400, 401, 403, 409, 413, 422, 429),
    **requires(Permission.SERVER_ADMIN),
)
def create_user(body: UserCreate, principal: PrincipalDep, service: IdentityDep) -> dict[str, Any]:
    """Create a user (give it a token with ``POST /api/v1/tokens`` and ``user``)."""
    return service.create_user(
        principal, body.name, admin=body.admin, password=body.password, user_id=body.id
    ).to_dict()


@router.get(
    "/users/{name}",
    response_model=UserOut,
    responses=errors(400, 401, 403, 404, 429),
    **requires(Permission.SERVER_ADMIN),
)
def get_user(name: str, principal: PrincipalDep, service: IdentityDep) -> dict[str, Any]:
    """Return one user by name or id, with its project roles."""
    user = service.get_user(principal, name)
    roles = service.store.access.user_roles(user.id)
    return {**user.to_dict(), "roles": [{"project_id": p, "role": r.value} for p, r in roles]}


@router.patch(
    "/users/{name}",
    response_model=UserOut,
    responses=errors(400, 401, 403, 404, 413, 422, 429),
    **requires(Permission.SERVER_ADMIN),
)
def update_user(
    name: str, body: UserUpdate, principal: PrincipalDep, service: IdentityDep
) -> dict[str, Any]:
    """Disable or enable a user, or make it a server admin or not."""
    return service.update_user(principal, name, admin=body.admin, disabled=body.disabled).to_dict()
