"""``/api/v1/projects``: list, get-or-create, get."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from windlass.access.policy import Permission
from windlass.server.api.common import (
    Id,
    Millis,
    PageToken,
    ProjectName,
    RequestBody,
    ResponseBody,
    errors,
    requires,
)
from windlass.server.deps import tracking
from windlass.tracking.service import Tracking


class ProjectCreate(RequestBody):
    """Get-or-create a project by name.

    A new project gets ``id`` (the writer's; 409 ``ID_CONFLICT`` if another project holds
    it) and ``created_at``; an existing name returns its project as it is.
    """

    name: ProjectName
    id: Id | None = None
    created_at: Millis | None = None


class ProjectOut(ResponseBody):
    """A project: the named container of runs, models, deployments, prompts and traces."""

    id: str
    name: str
    created_at: int
    description: str
    #: Aliases only an admin of the project may move or remove.
    protected_aliases: list[str]
    #: Whether a protected alias moves only once a second admin approves.
    two_person_review: bool


class ProjectPage(ResponseBody):
    """One page of projects, by name."""

    projects: list[ProjectOut]
    next_page_token: str | None = None


router = APIRouter(prefix="/api/v1/projects", tags=["projects"])
TrackingDep = Annotated[Tracking, Depends(tracking)]


@router.get(
    "", response_model=ProjectPage, responses=errors(400), **requires(Permission.AUTHENTICATED)
)
def list_projects(
    service: TrackingDep,
    max_results: Annotated[int, Query(ge=1, le=10_000)] = 100,
    page_token: PageToken = None,
) -> dict[str, Any]:
    """List projects by name, one page at a time."""
    page = service.list_projects(max_results, page_token)
    return {"projects": [p.to_dict() for p in page.items], "next_page_token": page.next_page_token}


@router.post(
    "",
    response_model=ProjectOut,
    responses=errors(400, 409, 413, 422),
    **requires(Permission.AUTHENTICATED),
)
def get_or_create_project(body: ProjectCreate, service: TrackingDep) -> dict[str, Any]:
    """Return the named project, creating it on first use (with the ``id`` sent, if any)."""
    return service.project(body.name, project_id=body.id, created_at=body.created_at).to_dict()


@router.get(
    "/{name_or_id}",
    response_model=ProjectOut,
    responses=errors(400, 404),
    **requires(Permission.READ),
)
def get_project(name_or_id: str, service: TrackingDep) -> dict[str, Any]:
    """Return one project by name or id."""
    return service.get_project(name_or_id).to_dict()
