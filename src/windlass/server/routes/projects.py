"""``/api/v1/projects``: list, get-or-create, get."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from windlass.server.deps import tracking
from windlass.server.errors import ERROR_RESPONSES
from windlass.server.schemas import PageToken, ProjectCreate
from windlass.tracking.service import Tracking

router = APIRouter(prefix="/api/v1/projects", tags=["projects"], responses=ERROR_RESPONSES)
TrackingDep = Annotated[Tracking, Depends(tracking)]


@router.get("")
def list_projects(
    service: TrackingDep,
    max_results: Annotated[int, Query(ge=1, le=10_000)] = 100,
    page_token: PageToken = None,
) -> dict[str, Any]:
    """List projects by name, one page at a time."""
    page = service.list_projects(max_results, page_token)
    return {"projects": [p.to_dict() for p in page.items], "next_page_token": page.next_page_token}


@router.post("")
def get_or_create_project(body: ProjectCreate, service: TrackingDep) -> dict[str, Any]:
    """Return the named project, creating it on first use (with the ``id`` sent, if any)."""
    return service.project(body.name, project_id=body.id, created_at=body.created_at).to_dict()


@router.get("/{name_or_id}")
def get_project(name_or_id: str, service: TrackingDep) -> dict[str, Any]:
    """Return one project by name or id."""
    return service.get_project(name_or_id).to_dict()
