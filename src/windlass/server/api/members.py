"""``/api/v1/projects/{project}/members``: who holds which role in a project."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path

from windlass.access.identity import Identity
from windlass.access.policy import Permission
from windlass.server.api.common import Empty, RequestBody, ResponseBody, errors, requires
from windlass.server.deps import PrincipalDep, identity

router = APIRouter(prefix="/api/v1/projects/{project}/members", tags=["identity"])
IdentityDep = Annotated[Identity, Depends(identity)]
ProjectPath = Annotated[str, Path(max_length=256, description="Project name or id")]
UserPath = Annotated[str, Path(max_length=256, description="User name or id")]


class MemberSet(RequestBody):
    """The role to give."""

    role: Literal["viewer", "editor", "admin"]


class MemberOut(ResponseBody):
    """A user's role in a project."""

    project_id: str
    user_id: str
    user_name: str
    role: str


class MemberList(ResponseBody):
    """A project's members, by user name."""

    members: list[MemberOut]


@router.get(
    "",
    response_model=MemberList,
    responses=errors(400, 401, 403, 404, 429),
    **requires(Permission.READ),
)
def list_members(project: ProjectPath, principal: PrincipalDep, service: IdentityDep) -> Any:
    """List a project's members and their roles."""
    return {"members": [m.to_dict() for m in service.list_members(principal, project)]}


@router.put(
    "/{user}",
    response_model=MemberOut,
    responses=errors(400, 401, 403, 404, 413, 422, 429),
    **requires(Permission.ADMIN),
)
def set_member(
    project: ProjectPath,
    user: UserPath,
    body: MemberSet,
    principal: PrincipalDep,
    service: IdentityDep,
) -> dict[str, Any]:
    """Give a user a role in the project (replacing its role there)."""
    return service.set_member(principal, project, user, body.role).to_dict()


@router.delete(
    "/{user}",
    response_model=Empty,
    responses=errors(400, 401, 403, 404, 429),
    **requires(Permission.ADMIN),
)
def remove_member(
    project: ProjectPath, user: UserPath, principal: PrincipalDep, service: IdentityDep
) -> dict[str, Any]:
    """Remove a user from the project."""
    service.remove_member(principal, project, user)
    return {}
