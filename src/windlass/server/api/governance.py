"""``/api/v1/projects/{project}/settings`` and ``.../alias-requests``: protected aliases.

A project admin changes which aliases the project protects and whether two-person review
is on (``PATCH .../settings``). With review on, an admin's move of a protected alias
answers 202 with a pending alias request (see the alias routes of models and prompts);
``GET .../alias-requests`` lists them, and a second admin approves (the alias moves) or
rejects one.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import Field

from windlass.access.policy import Permission
from windlass.entities import Project
from windlass.server.api.common import (
    NAME_PATTERN,
    RequestBody,
    ResponseBody,
    errors,
    requires,
)
from windlass.server.api.projects import ProjectOut
from windlass.server.deps import governance, project
from windlass.versioning.governance import MAX_PROTECTED_ALIASES, ProjectGovernance

__all__ = ["AliasRequestOut", "router"]

router = APIRouter(prefix="/api/v1/projects/{project}", tags=["projects"])
GovernanceDep = Annotated[ProjectGovernance, Depends(governance)]
ProjectDep = Annotated[Project, Depends(project)]
RequestPath = Annotated[
    str, Path(pattern="^[0-9a-f]{32}$", description="The alias request's id (32 hex digits)")
]
AliasName = Annotated[str, Field(pattern=NAME_PATTERN)]
ProtectedList = Annotated[list[AliasName], Field(max_length=MAX_PROTECTED_ALIASES)]


class SettingsUpdate(RequestBody):
    """The settings to change; a field left out keeps its value."""

    #: Aliases only an admin may move or remove (replaces the list).
    protected_aliases: (
        Annotated[list[AliasName], Field(max_length=MAX_PROTECTED_ALIASES)] | None
    ) = None
    #: Whether a protected alias moves only once a second admin approves.
    two_person_review: bool | None = None


class AliasRequestOut(ResponseBody):
    """A move of a protected alias waiting for (or decided by) a second admin."""

    id: str
    project_id: str
    kind: str
    name: str
    alias: str
    version: int
    object: str
    requested_by: str
    requested_at: int
    state: str
    decided_by: str | None = None
    decided_at: int | None = None


class AliasRequestList(ResponseBody):
    """A project's alias requests, oldest first."""

    requests: list[AliasRequestOut]


@router.patch(
    "/settings",
    response_model=ProjectOut,
    responses=errors(400, 401, 403, 404, 413, 422, 429),
    description="Change a project's settings: its protected aliases (at most "
    f"{MAX_PROTECTED_ALIASES}) and two-person review; return the project.",
    **requires(Permission.ADMIN),
)
def update_settings(
    body: SettingsUpdate, proj: ProjectDep, service: GovernanceDep
) -> dict[str, Any]:
    """Change a project's settings."""
    return service.update_project_settings(
        proj.id,
        protected_aliases=body.protected_aliases,
        two_person_review=body.two_person_review,
    ).to_dict()


@router.get(
    "/alias-requests",
    response_model=AliasRequestList,
    responses=errors(400, 401, 403, 404, 429),
    description="List a project's alias requests (default: the pending ones), oldest first.",
    **requires(Permission.READ),
)
def list_alias_requests(
    proj: ProjectDep,
    service: GovernanceDep,
    state: Literal["pending", "approved", "rejected", "all"] = "pending",
) -> dict[str, Any]:
    """List alias requests."""
    found = service.list_alias_requests(proj.id, None if state == "all" else state)
    return {"requests": [r.to_dict() for r in found]}


@router.post(
    "/alias-requests/{request_id}/approve",
    response_model=AliasRequestOut,
    responses=errors(400, 401, 403, 404, 409, 429),
    description="Approve a pending alias request (a second admin, not its requester): the "
    "alias moves, recorded as the approver's move; return the approved request.",
    **requires(Permission.ADMIN),
)
def approve(request_id: RequestPath, proj: ProjectDep, service: GovernanceDep) -> dict[str, Any]:
    """Approve an alias request."""
    return service.approve(proj.id, request_id).to_dict()


@router.post(
    "/alias-requests/{request_id}/reject",
    response_model=AliasRequestOut,
    responses=errors(400, 401, 403, 404, 409, 429),
    description="Reject a pending alias request (a second admin, not its requester): the "
    "alias does not move; return the rejected request.",
    **requires(Permission.ADMIN),
)
def reject(request_id: RequestPath, proj: ProjectDep, service: GovernanceDep) -> dict[str, Any]:
    """Reject an alias request."""
    return service.reject(proj.id, request_id).to_dict()
